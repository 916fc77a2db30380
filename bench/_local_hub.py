"""A hub in this process (uvicorn in a thread, SQLite + local folder) that counts what crosses the wire, for the
rows whose figure is bytes or requests rather than transfer speed (warm pull, compatibility, re-publish)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import serve

FILE_MARKERS = ("/files/", "/resolve/")


@dataclass
class Wire:
    requests: int = 0
    file_bytes_sent: int = 0  # response bodies of file downloads
    blob_puts: int = 0  # blob uploads are the only PUTs; declare and commit are JSON POSTs
    blob_bytes_received: int = 0

    def reset(self) -> None:
        self.requests = self.file_bytes_sent = self.blob_puts = self.blob_bytes_received = 0


class _Counting:
    """Pure ASGI middleware, so streamed bodies are counted chunk by chunk."""

    def __init__(self, app: Any, wire: Wire) -> None:
        self.app, self.wire = app, wire

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            return await self.app(scope, receive, send)
        self.wire.requests += 1
        is_file = any(marker in scope["path"] for marker in FILE_MARKERS)
        is_put = scope["method"] == "PUT"
        self.wire.blob_puts += is_put

        async def counted_receive() -> dict[str, Any]:
            message = await receive()
            if is_put:
                self.wire.blob_bytes_received += len(message.get("body", b""))
            return message

        async def counted_send(message: dict[str, Any]) -> None:
            if is_file and message["type"] == "http.response.body":
                self.wire.file_bytes_sent += len(message.get("body", b""))
            await send(message)

        await self.app(scope, counted_receive, counted_send)


@dataclass
class LocalHub:
    url: str
    token: str
    wire: Wire


@contextmanager
def local_hub(workdir: Path) -> Iterator[LocalHub]:
    from hub.accounts.service import AccountService
    from hub.app import create_app
    from hub.config import Settings
    from hub.db import unit_of_work
    from hub.migrate import upgrade

    workdir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=workdir)
    upgrade(settings.database_url)
    app = create_app(settings)
    with unit_of_work(app.state.session_factory) as session:
        accounts = AccountService(session)
        token = accounts.create_token(accounts.ensure_user("bench"))
    wire = Wire()
    app.add_middleware(_Counting, wire=wire)
    try:
        with serve(app) as url:
            yield LocalHub(url, token, wire)
    finally:
        app.state.engine.dispose()
