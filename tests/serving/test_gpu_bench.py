"""bench/gpu/vllm_serve.py is an on-demand GPU check: on a machine without a GPU it refuses at once, clearly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu" / "vllm_serve.py"


def test_the_gpu_check_refuses_to_start_without_a_gpu() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: run bench/gpu/vllm_serve.py itself")
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("vllm_serve: needs a CUDA GPU, and this machine has none usable: ")
    assert done.stderr.count("\n") == 1  # one line, no traceback
