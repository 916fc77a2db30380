"""The client works where only its own dependencies are installed: no fastapi, no sqlalchemy, no torch.

A venv at .venv-client/ (built once, then reused; it holds its own .gitignore) gets httpx and its
dependencies, tqdm and filelock with --no-deps, then the project itself with --no-deps, as
`pip install adapter-hub` without extras would. A script run there searches, downloads and checks
against the live hub.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest
from filelock import FileLock

from tests.helpers import tiny_lora_files
from tests.sdk.test_support import write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
REPO_ROOT = Path(__file__).resolve().parents[2]
VENV = REPO_ROOT / ".venv-client"
SCRIPT = Path(__file__).parent / "clean_env" / "client_script.py"
# The base install's dependencies (pyproject.toml) and theirs, pinned to what the main venv runs.
CLIENT_PACKAGES = ("httpx", "httpcore", "h11", "anyio", "idna", "certifi", "sniffio", "typing_extensions", "tqdm",
                   "filelock")  # fmt: skip
PROJECT_PARTS = ("pyproject.toml", "README.md", "sdk", "hub", "web", "migrations")
STRUCTURE = "\n".join(
    [f"model.layers.{i}.self_attn.q_proj 64 64" for i in range(2)]
    + [f"model.layers.{i}.self_attn.v_proj 64 32" for i in range(2)]
)


def _pins() -> list[str]:
    pins = []
    for name in CLIENT_PACKAGES:
        try:
            pins.append(f"{name}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue  # not needed by these versions (sniffio, for recent anyio)
    return pins


def _python() -> Path:
    return VENV / "bin" / "python"


def _pip(*args: str) -> None:
    subprocess.run([str(_python()), "-m", "pip", "install", "--quiet", "--no-deps", *args], check=True, timeout=600)


def _source_digest() -> str:
    digest = hashlib.sha256()
    for part in PROJECT_PARTS:
        root = REPO_ROOT / part
        for path in sorted([root] if root.is_file() else root.rglob("*.py")):
            digest.update(path.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _ensure_dependencies(pins: list[str], setuptools: str) -> None:
    marker = VENV / f".deps-{hashlib.sha256(' '.join(pins).encode()).hexdigest()[:16]}"
    if marker.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=300)
    _pip(*pins, setuptools)  # setuptools only builds the project below
    marker.touch()


def _install_project() -> None:
    marker = VENV / f".project-{_source_digest()}"
    if marker.exists():
        return
    with tempfile.TemporaryDirectory() as tmp:
        for part in PROJECT_PARTS:  # a copy, so that building leaves nothing in the work tree
            source, target = REPO_ROOT / part, Path(tmp) / part
            copy = shutil.copy if source.is_file() else shutil.copytree
            copy(source, target)
        _pip("--no-build-isolation", "--force-reinstall", tmp)
    for old in VENV.glob(".project-*"):
        old.unlink()
    marker.touch()


@pytest.fixture(scope="session")
def client_python() -> Path:
    VENV.mkdir(exist_ok=True)
    (VENV / ".gitignore").write_text("*\n")  # keeps git and ruff out, as Python 3.13's venv does
    with FileLock(VENV / ".build.lock"):  # xdist workers share the venv
        _ensure_dependencies(_pins(), f"setuptools=={importlib.metadata.version('setuptools')}")
        _install_project()
    return _python()


def _clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}


def test_search_download_check_without_server_libraries_or_torch(client_python: Path, hub, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "a", tiny_lora_files()), "alice/clean", base_model="tiny/llama-test")
    command = [str(client_python), str(SCRIPT), hub.url, "alice/clean", str(tmp_path / "cache"), STRUCTURE]
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["present"] == [] and result["server_imported"] == [] and result["torch_imported"] is False
    assert result["sdk_file"].startswith(str(VENV))  # the installed copy, not the work tree
    assert result["found"] == ["alice/clean"]
    assert result["files"] == ["README.md", "adapter_config.json", "adapter_model.safetensors"]
    assert result["ok"] is True and result["short_problems"] == ["missing_module"]


def _hub_there(client_python: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    hub_command = client_python.parent / "hub"
    return subprocess.run([str(hub_command), *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_hub_command_runs_its_client_verbs_there(client_python: Path, hub, alice) -> None:
    env = {**_clean_env(), "HUB_URL": hub.url, "HUB_TOKEN": alice.token}
    done = _hub_there(client_python, env, "search", "--limit", "5")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "0 of 0 adapters"
    assert _hub_there(client_python, env, "whoami").stdout.startswith("alice on ")


def test_its_help_lists_only_the_client_verbs(client_python: Path) -> None:
    from hub.cli import SERVER_VERBS

    shown = _hub_there(client_python, _clean_env(), "--help")
    assert shown.returncode == 0
    listed = {line.split()[0] for line in shown.stdout.split("COMMAND\n", 1)[1].splitlines() if line[4:5].strip()}
    assert {"publish", "pull", "search", "check", "tag", "delete", "whoami", "logout", "org"} <= listed
    assert listed & SERVER_VERBS == set() and "pip install 'adapter-hub[server]'" in shown.stdout


def test_a_server_verb_there_says_how_to_install_the_server(client_python: Path, tmp_path: Path) -> None:
    env = {**_clean_env(), "HUB_DATA_DIR": str(tmp_path / "data")}
    for argv in (["serve"], ["token", "create", "alice"], ["db", "upgrade"], ["admin", "org", "create", "x"]):
        done = _hub_there(client_python, env, *argv)
        assert done.returncode == 1 and done.stdout == ""
        assert done.stderr.splitlines() == [
            f"error: `hub {argv[0]}` is a server command, and this install has the client only: "
            "pip install 'adapter-hub[server]' (in a checkout: pip install '.[server]')"
        ]


def test_a_failure_there_is_one_line(client_python: Path, tmp_path: Path) -> None:
    done = _hub_there(client_python, _clean_env(), "publish", str(tmp_path / "nope"), "--name", "alice/x")
    assert (done.returncode, done.stderr) == (1, f"error: No such folder: {tmp_path / 'nope'}\n")


def test_the_readme_installs_what_pyproject_declares() -> None:
    """README's "Install the client": a pip install of the checkout (the client) and of its [torch] extra."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    readme = (REPO_ROOT / "README.md").read_text()
    part = readme.split("### Install the client", 1)[1].split("###", 1)[0]
    commands = [line.split("#")[0].split() for line in part.splitlines() if line.startswith("pip install ")]
    assert [command[2] for command in commands] == ["/path/to/adapter-hub", "'/path/to/adapter-hub[torch]'"]
    assert {_name(requirement) for requirement in project["dependencies"]} == {"httpx", "tqdm", "filelock"}
    assert {_name(requirement) for requirement in project["optional-dependencies"]["torch"]} >= {"torch"}
    assert project["name"] == "adapter-hub" and "server" in project["optional-dependencies"]
    assert "hub.pull(..., into=model)" in part and "[server]" in part


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]
