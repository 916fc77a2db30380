"""sdk.formats is used by the client install, which has neither torch nor numpy nor server libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
FORBIDDEN = ("torch", "numpy", "safetensors", "transformers", "peft", "fastapi", "sqlalchemy", "boto3", "pydantic")


def test_formats_import_only_the_standard_library():
    code = (
        "import sys, sdk.formats, sdk.formats.peft, sdk.formats.safetensors\n"
        f"print(sorted(name for name in {FORBIDDEN!r} if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO_ROOT)
    assert result.stdout.strip() == "[]"
