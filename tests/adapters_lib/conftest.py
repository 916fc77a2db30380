"""The second test environment: a venv with the AdapterHub `adapters` library, built on first use.

`adapters` 1.3.0 pins transformers 4.57 while the project venv runs transformers 5, so the two cannot share
a venv. The venv lives at .venv-adapters/ (git ignores it: `.venv-*/`, plus a `*` .gitignore inside), holds
the packages pinned in constraints-adapters.txt and the project itself (editable, --no-deps), and is rebuilt
when the constraints change. Tests run scripts there as subprocesses, against a live hub
started by this (main) environment's fixtures.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = REPO_ROOT / ".venv-adapters"
CONSTRAINTS = REPO_ROOT / "constraints-adapters.txt"
REQUIREMENTS = ("adapters==1.3.0", "transformers==4.57.*", "torch==2.13.0", "httpx", "tqdm", "filelock")
SIDE_SCRIPT = Path(__file__).with_name("adapters_side.py")


def venv_python() -> Path:
    return VENV / "bin" / "python"


def _marker() -> Path:
    # The project is installed editable, so only the pinned packages decide when to rebuild.
    digest = hashlib.sha256(CONSTRAINTS.read_bytes() + " ".join(REQUIREMENTS).encode())
    return VENV / f".built-{digest.hexdigest()[:16]}"


def build_venv() -> None:
    """python -m venv; pip install -c constraints-adapters.txt ...; pip install --no-deps -e <repo>."""
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True, timeout=300)
    (VENV / ".gitignore").write_text("*\n")
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet"]
    subprocess.run(
        [*pip, "-c", str(CONSTRAINTS), *REQUIREMENTS], check=True, capture_output=True, text=True, timeout=1800
    )
    subprocess.run([*pip, "--no-deps", "-e", str(REPO_ROOT)], check=True, capture_output=True, text=True, timeout=600)
    _marker().touch()


@pytest.fixture(scope="session")
def adapters_python() -> Path:
    """The second venv's python (built once; pytest-xdist workers wait on a file lock)."""
    VENV.mkdir(exist_ok=True)
    with FileLock(str(Path(tempfile.gettempdir()) / "adapter-hub-venv-adapters.lock")):
        if not _marker().exists():
            try:
                build_venv()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
                detail = getattr(error, "stderr", None) or str(error)
                pytest.fail(f"could not build {VENV}: {str(detail)[-1500:]}")
    return venv_python()


def run_side(python: Path, job: dict[str, Any], *, hub_url: str = "", token: str = "", timeout: int = 900) -> Any:
    """Run adapters_side.py in the second venv with `job` on stdin; its JSON answer."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR", "HOME") if name in os.environ}
    env |= {"HUB_URL": hub_url, "HUB_TOKEN": token, "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    env |= {"HUB_CACHE": job["work"] + "/hub-cache", "XDG_CONFIG_HOME": job["work"] + "/config"}
    done = subprocess.run(
        [str(python), str(SIDE_SCRIPT)],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        env=env,
        cwd=job["work"],
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.splitlines()[-1])
