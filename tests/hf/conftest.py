"""Fixtures for the Hugging Face surface: a live hub that records what it was asked, real PEFT adapters
published over HTTP, and real huggingface_hub clients (installed 2.x, and 0.x in its own venv) run in
fresh processes.

Client code always runs in a subprocess with a clean environment: tests/conftest.py sets HF_HUB_OFFLINE=1
for this process, and huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE once, when imported.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.helpers import declare

REPO_ROOT = Path(__file__).resolve().parents[2]
CLIENT_SCRIPT = Path(__file__).with_name("hf_client.py")
# The oldest 0.x release still in wide use (hf-protocol.md section 13); its own venv because the
# current release is installed in the project venv. Cached between runs; git ignores it (see _create_venv).
LEGACY_VERSION = "0.36.2"
LEGACY_VENV = REPO_ROOT / ".venv-hf-legacy"


@dataclass
class Seen:
    method: str
    path: str
    status: int
    headers: dict[str, str]
    request_headers: dict[str, str]


@dataclass
class RequestLog:
    """Every request the live hub answered: the server's side of a conversation with a real client."""

    entries: list[Seen] = field(default_factory=list)

    def clear(self) -> None:
        self.entries.clear()

    def resolves(self, method: str | None = None, suffix: str = "") -> list[Seen]:
        return [
            seen
            for seen in self.entries
            if "/resolve/" in seen.path and (method is None or seen.method == method) and seen.path.endswith(suffix)
        ]


class _Recorder:
    """Pure ASGI middleware, so streamed bodies pass through untouched."""

    def __init__(self, app: Any, log: RequestLog) -> None:
        self.app, self.log = app, log

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_headers = {k.decode().lower(): v.decode("latin-1") for k, v in scope["headers"]}

        async def record(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = {k.decode().lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
                seen = Seen(scope["method"], scope["path"], message["status"], headers, request_headers)
                self.log.entries.append(seen)
            await send(message)

        await self.app(scope, receive, record)


@pytest.fixture
def request_log(app: FastAPI) -> RequestLog:
    log = RequestLog()
    app.add_middleware(_Recorder, log=log)  # before live_hub starts serving the app
    return log


@pytest.fixture
def hf_hub(request_log: RequestLog, live_hub: str) -> str:
    """URL of a live hub whose requests land in request_log."""
    return live_hub


def publish_folder(hub_url: str, token: str, repo_id: str, files: dict[str, bytes], **meta: Any) -> dict[str, Any]:
    """The publish flow over real HTTP (declare, upload what is missing, commit); the new version's JSON."""
    with httpx.Client(base_url=hub_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        started = http.post(f"/api/adapters/{repo_id}/uploads", json={"files": declare(files)})
        assert started.status_code == 201, started.text
        by_sha = {entry["sha256"]: files[entry["path"]] for entry in declare(files)}
        for blob in started.json()["missing"]:
            http.put(blob["url"], content=by_sha[blob["sha256"]]).raise_for_status()
        body = {"base_model": "tiny/llama-test", "base_model_type": "llama", "license": "apache-2.0", **meta}
        committed = http.post(started.json()["commit_url"], json=body)
    assert committed.status_code == 201, committed.text
    return committed.json()


@pytest.fixture(scope="session")
def lora_files(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, bytes]]:
    """Two different real PEFT LoRAs for the same tiny base (v1 and v2 of one adapter in the tests)."""
    from tests.hf.adapters import folder_files, lora_folder

    return [folder_files(lora_folder(tmp_path_factory.mktemp(f"lora{seed}"), seed)) for seed in (1, 2)]


def client_env(hf_home: Path, hub_url: str | None, **extra: str) -> dict[str, str]:
    """A clean environment: no HF_HUB_OFFLINE, no proxy, no token or home directory of the developer's."""
    env = {name: os.environ[name] for name in ("PATH", "LANG", "TMPDIR", "SYSTEMROOT") if name in os.environ}
    env |= {
        "HOME": str(hf_home),
        "HF_HOME": str(hf_home / "hf"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    if hub_url is not None:
        env["HF_ENDPOINT"] = hub_url
    return env | extra


@dataclass
class HfClient:
    """One huggingface_hub installation, called in fresh processes that share one HF cache (tmp)."""

    python: Path
    expected_version: str | None
    home: Path

    def run(self, hub_url: str | None, calls: list[dict[str, Any]], **env: str) -> list[dict[str, Any]]:
        completed = subprocess.run(
            [str(self.python), str(CLIENT_SCRIPT)],
            input=json.dumps(calls),
            capture_output=True,
            text=True,
            env=client_env(self.home, hub_url, **env),
            timeout=300,
            check=False,
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        return json.loads(completed.stdout)

    def call(self, hub_url: str | None, op: str, **kwargs: Any) -> Any:
        """One call; its value, or AssertionError with the client's exception."""
        (result,) = self.run(hub_url, [{"op": op, "kwargs": kwargs}])
        assert "ok" in result, result
        return result["ok"]

    def error(self, hub_url: str, op: str, **kwargs: Any) -> dict[str, Any]:
        (result,) = self.run(hub_url, [{"op": op, "kwargs": kwargs}])
        assert "error" in result, result
        return result


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    # pytest-xdist workers may all need the venv at once: one builds it, the others wait.
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _installed_version(python: Path) -> str | None:
    if not python.exists():
        return None
    probe = [str(python), "-c", "import huggingface_hub; print(huggingface_hub.__version__)"]
    completed = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=120)
    return completed.stdout.strip() if completed.returncode == 0 else None


def _create_venv(venv: Path, requirement: str) -> None:
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True, timeout=300)
    # A .gitignore of "*" inside keeps the venv out of git without touching the project's .gitignore.
    (venv / ".gitignore").write_text("*\n")
    install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement]
    subprocess.run(install, check=True, capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    """The python of a venv with huggingface_hub==LEGACY_VERSION from PyPI, built on first use."""
    python = LEGACY_VENV / "bin" / "python"
    with _exclusive(Path(tempfile.gettempdir()) / "adapter-hub-hf-legacy.lock"):
        if _installed_version(python) != LEGACY_VERSION:
            try:
                _create_venv(LEGACY_VENV, f"huggingface_hub=={LEGACY_VERSION}")
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as error:
                detail = getattr(error, "stderr", None) or str(error)
                pytest.skip(f"could not install huggingface_hub=={LEGACY_VERSION}: {str(detail)[-500:]}")
    return python


@pytest.fixture(params=["current", "legacy"])
def hf_client(request: pytest.FixtureRequest, tmp_path: Path) -> HfClient:
    """The installed huggingface_hub (2.x), then the oldest common 0.x release."""
    if request.param == "current":
        import huggingface_hub

        return HfClient(Path(sys.executable), huggingface_hub.__version__, tmp_path)
    return HfClient(request.getfixturevalue("legacy_python"), LEGACY_VERSION, tmp_path)
