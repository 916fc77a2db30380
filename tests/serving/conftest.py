"""The vLLM test environment: a venv with vllm 0.33.0 installed without its dependencies, built on first use.

vllm's metadata pins a CUDA torch and a hundred GPU packages, none of which the resolver needs: the venv
holds vllm (--no-deps), the local CPU torch, msgspec, pydantic, packaging and numpy (enough to import
vllm.plugins, vllm.lora.resolver and vllm.lora.request and run vLLM's real plugin loader), the SDK's own
dependencies, and the project itself (editable, --no-deps, so its `vllm.general_plugins` entry point is
registered). It lives at .venv-vllm/ (git ignores `.venv-*/`, plus a `*` .gitignore inside) and is rebuilt
when constraints-vllm.txt changes. Tests run vllm_side.py there as a subprocess, against a live hub started
by this (main) environment's fixtures.

When the venv cannot be built because pip cannot reach the package index, the tests skip, except in CI
(CI=true) or with TEST_REQUIRE_VLLM=1, where they fail.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = REPO_ROOT / ".venv-vllm"
CONSTRAINTS = REPO_ROOT / "constraints-vllm.txt"
# Resolved normally (none of them pulls a GPU package; torch==2.13.0 is the local CPU wheel).
REQUIREMENTS = ("torch==2.13.0", "msgspec", "pydantic", "packaging", "numpy", "httpx", "tqdm", "filelock")
NO_DEPS = ("vllm==0.33.0",)  # never let pip resolve vllm's own dependencies
SIDE_SCRIPT = Path(__file__).with_name("vllm_side.py")
PLUGIN = "adapter_hub"  # the entry point's name in pyproject.toml


def venv_python() -> Path:
    return VENV / "bin" / "python"


def _marker() -> Path:
    digest = hashlib.sha256(CONSTRAINTS.read_bytes() + " ".join(REQUIREMENTS + NO_DEPS).encode())
    return VENV / f".built-{digest.hexdigest()[:16]}"


def build_venv() -> float:
    """python -m venv; pip install the requirements; vllm --no-deps; the project --no-deps -e. Seconds taken."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True, capture_output=True, timeout=300)
    (VENV / ".gitignore").write_text("*\n")
    pip = [str(venv_python()), "-m", "pip", "install", "--quiet", "-c", str(CONSTRAINTS)]
    _pip([*pip, *REQUIREMENTS])
    _pip([*pip, "--no-deps", *NO_DEPS])
    _pip([*pip, "--no-deps", "-e", str(REPO_ROOT)])
    seconds = time.monotonic() - started
    _marker().write_text(f"{seconds:.0f}\n")
    return seconds


def _pip(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=1800)


def _index_reachable() -> bool:
    """Whether pip can reach the package index at all (a look-up of the one package this venv is about)."""
    probe = [sys.executable, "-m", "pip", "index", "versions", "vllm"]
    try:
        return subprocess.run(probe, capture_output=True, timeout=120, check=False).returncode == 0
    except (subprocess.TimeoutExpired, OSError):
        return False


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("TEST_REQUIRE_VLLM") == "1"


@pytest.fixture(scope="session")
def vllm_python() -> Path:
    """The vLLM venv's python (built once; pytest-xdist workers wait on a file lock)."""
    VENV.mkdir(exist_ok=True)
    with FileLock(str(Path(tempfile.gettempdir()) / "adapter-hub-venv-vllm.lock")):
        if not _marker().exists():
            try:
                build_venv()
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
                detail = str(getattr(error, "stderr", None) or error)[-1500:]
                if not _required() and not _index_reachable():
                    pytest.skip(f"pip cannot reach the package index, so {VENV.name} cannot be built: {detail}")
                pytest.fail(f"could not build {VENV}: {detail}")
    return venv_python()


def side_env(work: Path, hub_url: str, token: str = "") -> dict[str, str]:
    """The side script's whole environment: the hub, its own cache and config, nothing from the developer's."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR", "HOME") if name in os.environ}
    env |= {"HUB_URL": hub_url, "HUB_TOKEN": token, "HUB_CACHE": str(work / "hub-cache")}
    env |= {"XDG_CONFIG_HOME": str(work / "config"), "HF_HUB_OFFLINE": "1", "NO_PROXY": "127.0.0.1,localhost"}
    return env | {"VLLM_PLUGINS": PLUGIN, "VLLM_ALLOW_RUNTIME_LORA_UPDATING": "true"}


def run_side(python: Path, job: dict[str, Any], env: dict[str, str], *, timeout: int = 600) -> dict[str, Any]:
    """Run vllm_side.py in the vLLM venv with `job` on stdin; its JSON answer (last stdout line) and stderr."""
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
    return json.loads(done.stdout.splitlines()[-1]) | {"stderr": done.stderr}
