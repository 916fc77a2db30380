"""Fixtures and helpers for the SDK tests (loaded with ``pytest_plugins``; this module holds no test).

Every SDK test module starts with ``pytest_plugins = ["tests.sdk.test_support"]`` and
``pytestmark = pytest.mark.usefixtures("sdk_env")``; nothing here is autouse, so other suites are unaffected.

The SDK talks to a real hub (``live_hub``: uvicorn on loopback). What crosses the wire is measured on the
server side by a small ASGI middleware added to the app before it starts, which can also cut a file
transfer midway, corrupt it, or answer 503 a few times: the client under test is never mocked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sdk import Hub

FILES_MARKER = "/files/"


@dataclass
class Traffic:
    """What the hub received and sent, plus switches that break file downloads on purpose."""

    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    file_bytes_sent: int = 0  # response body bytes of file downloads
    upload_bytes: int = 0  # request body bytes of PUT (blob uploads)
    cut_after: int | None = None  # close each file response after this many body bytes
    corrupt: bool = False  # flip the first byte of each file response
    fail_next: int = 0  # answer this many requests with 503 (as a load balancer would)...
    fail_method: str | None = None  # ...only requests with this method, when set

    def file_requests(self) -> list[tuple[str, str]]:
        return [request for request in self.requests if FILES_MARKER in request[1]]

    def reset(self) -> None:
        self.requests.clear()
        self.file_bytes_sent = self.upload_bytes = 0


class TrafficMiddleware:
    """Pure ASGI, so it sees every body chunk as it is streamed."""

    def __init__(self, app: Any, traffic: Traffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        self.traffic.requests.append((scope["method"], scope["path"]))
        if self.traffic.fail_next > 0 and self.traffic.fail_method in (None, scope["method"]):
            self.traffic.fail_next -= 1
            await _answer_503(send)
            return
        is_file = FILES_MARKER in scope["path"] and scope["method"] == "GET"
        await self.app(scope, self._counting_receive(receive), self._file_send(send) if is_file else send)

    def _counting_receive(self, receive: Any) -> Any:
        async def counted() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                self.traffic.upload_bytes += len(message.get("body", b""))
            return message

        return counted

    def _file_send(self, send: Any) -> Any:
        state = {"sent": 0}

        async def patched(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if self.traffic.corrupt and state["sent"] == 0 and body:
                    body = bytes([body[0] ^ 0xFF]) + body[1:]
                if self.traffic.cut_after is not None and state["sent"] + len(body) > self.traffic.cut_after:
                    body = body[: self.traffic.cut_after - state["sent"]]
                    await send({**message, "body": body, "more_body": True})
                    self.traffic.file_bytes_sent += len(body)
                    raise ConnectionAbortedError("test: transfer cut midway")  # uvicorn drops the connection
                state["sent"] += len(body)
                self.traffic.file_bytes_sent += len(body)
                message = {**message, "body": body}
            await send(message)

        return patched


async def _answer_503(send: Any) -> None:
    body = json.dumps({"error": {"code": "StorageUnavailable", "message": "test: try again"}}).encode()
    headers = [(b"content-type", b"application/json"), (b"x-error-code", b"StorageUnavailable")]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def sdk_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's HUB_* settings or saved token, or writes to their cache."""
    for name in ("HUB_URL", "HUB_TOKEN", "HUB_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_CACHE", str(tmp_path / "env-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


@pytest.fixture
def traffic(app: Any) -> Traffic:
    recorded = Traffic()
    app.add_middleware(TrafficMiddleware, traffic=recorded)  # before live_hub starts the app
    return recorded


@pytest.fixture
def hub_url(sdk_env: None, traffic: Traffic, live_hub: str) -> str:
    return live_hub


@pytest.fixture
def hub(hub_url: str, alice: Any, tmp_path: Path) -> Iterator[Hub]:
    """Alice's client with its own cache; retries kept short."""
    with Hub(hub_url, token=alice.token, cache_dir=tmp_path / "cache", retries=2, backoff=0.01) as client:
        yield client


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    return folder


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_files(root: Path) -> list[str]:
    """Every file under the cache's blobs/ and each hub's snapshots/ ("blobs/...", "snapshots/..."), to prove
    nothing partial was kept."""
    tops = [root / "blobs", *(root / "hubs").glob("*/snapshots")]
    return sorted(path.relative_to(top.parent).as_posix() for top in tops if top.exists() for path in top.rglob("*"))
