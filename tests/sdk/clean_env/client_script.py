"""Run by tests/sdk/test_clean_env.py with the client-only venv's python: search, download, check, no torch.

Prints one JSON document on stdout; any failure is an exception (non-zero exit, traceback on stderr).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

SERVER_AND_TORCH = ("fastapi", "sqlalchemy", "starlette", "pydantic", "uvicorn", "boto3", "torch", "numpy")


def main(url: str, name: str, cache_dir: str, structure_text: str) -> dict[str, object]:
    present = [module for module in SERVER_AND_TORCH if importlib.util.find_spec(module) is not None]
    import sdk
    import sdk.formats
    from sdk.formats.compat import ModelStructure

    hub = sdk.Hub(url, cache_dir=cache_dir, retries=1, backoff=0.01)
    found = [row["id"] for row in hub.search(base_model="tiny/llama-test")]
    folder = hub.download(name)
    ok = hub.check(name, ModelStructure.from_text(structure_text))
    short = hub.check(name, ModelStructure.from_text("\n".join(structure_text.splitlines()[1:])))
    return {
        "present": present,
        "sdk_file": sdk.__file__,
        "found": found,
        "files": sorted(path.name for path in Path(folder).iterdir()),
        "ok": ok.ok,
        "short_problems": [problem.kind for problem in short.errors],
        "torch_imported": "torch" in sys.modules,
        "server_imported": sorted(m for m in ("hub.app", "fastapi", "sqlalchemy") if m in sys.modules),
    }


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:5])))
