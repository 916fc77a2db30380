"""The transfer rig: an S3 server and two `hub serve` processes on one SQLite file and one bucket, plus a token for
the SDK. The "stream" hub passes every byte through itself (direct transfers off); the "redirect" hub is told the
S3 endpoint clients reach (HUB_S3_PUBLIC_ENDPOINT_URL), which turns on redirected downloads and uploads straight
to storage, as a deployment would."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._procs import BUCKET, HubConfig, Server, hub_server, moto_server, s3_client, s3rver_server
from hub.storage import blob_key
from sdk import Hub

STORAGE_PREFIX = "hub"


@dataclass
class Rig:
    workdir: Path
    s3: Server
    client: Any  # boto3 S3 client on the same endpoint as the hubs
    token: str
    hubs: dict[str, Server]  # "stream" and "redirect" (direct transfers)

    def sdk(self, mode: str = "stream", cache: Path | None = None) -> Hub:
        """A client with an empty cache of its own (unless one is given)."""
        folder = cache or Path(tempfile.mkdtemp(prefix="cache-", dir=self.workdir))
        return Hub(self.hubs[mode].url, token=self.token, cache_dir=folder, retries=0)

    def blob_object(self, sha256: str) -> str:
        return f"{STORAGE_PREFIX}/{blob_key(sha256)}"

    def scratch(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="scratch-", dir=self.workdir))


@contextmanager
def transfer_rig(
    s3: str = "moto", s3rver: list[str] | None = None, modes: tuple[str, ...] = ("stream", "redirect")
) -> Iterator[Rig]:
    """s3="moto" (in-memory, as the issue's baselines) or "s3rver" (streams to disk; give its command)."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hubbench-")))
        server = stack.enter_context(moto_server() if s3 == "moto" else s3rver_server(s3rver or []))
        config = HubConfig(f"sqlite:///{workdir / 'hub.db'}", f"s3://{BUCKET}/{STORAGE_PREFIX}", server.url)
        token = config.prepare()
        hubs = {mode: stack.enter_context(hub_server(config, **_transfer_env(mode, server.url))) for mode in modes}
        yield Rig(workdir, server, s3_client(server.url), token, hubs)


def _transfer_env(mode: str, endpoint: str) -> dict[str, str]:
    if mode == "redirect":
        return {"HUB_S3_PUBLIC_ENDPOINT_URL": endpoint}
    return {"HUB_S3_REDIRECT_DOWNLOADS": "false", "HUB_S3_DIRECT_UPLOADS": "false"}


def timed_once(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
