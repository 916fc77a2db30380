"""Exact download counts from `hub serve --workers 2`, a real process tree, stopped by SIGTERM.

Each worker holds its counts in memory (HUB_DOWNLOAD_FLUSH_SECONDS=60: no periodic flush within the test), so
what the database holds after the stop was written by each worker's lifespan exit, which uvicorn runs on
SIGTERM once in-flight requests are done. First 2,000 downloads, all answered, then SIGTERM: exactly 2,000.
Then SIGTERM while downloads are still arriving: exactly as many more as the client got 200s for.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from hub.registry.models import Adapter, Version
from tests.fixtures.hub import Account
from tests.fixtures.replicas import make_token, replica_env
from tests.helpers import publish, tiny_lora_files
from tests.hub.test_workers import _serve

pytestmark = pytest.mark.xdist_group("serve-workers")

DOWNLOADS, CLIENTS = 2000, 16
ADAPTER = "alice/counted"
# Both download surfaces count, through the one rule of hub.api.files.file_response.
SURFACES = (
    f"/api/adapters/{ADAPTER}/versions/main/files/adapter_config.json",
    f"/{ADAPTER}/resolve/main/adapter_config.json",
)


def _client(url: str) -> httpx.Client:
    """Shared by the client threads; no keep-alive, so each download connects anew and the kernel spreads them
    over both workers (one httpx.Client per download would spend most of the time building SSL contexts)."""
    return httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0))


def _download(http: httpx.Client, index: int) -> int:
    """One download; 0 if the connection was refused or cut."""
    try:
        return http.get(SURFACES[index % 2]).status_code
    except httpx.TransportError:
        return 0


def _stored(database_url: str) -> tuple[int, int]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            adapter = connection.scalar(select(Adapter.downloads))
            return adapter, connection.scalar(select(Version.downloads))
    finally:
        engine.dispose()


def _sigterm(process: subprocess.Popen) -> None:
    process.terminate()
    assert process.wait(timeout=60) == 0  # a graceful exit: no worker was killed


def _worker_pids(log: Path) -> set[int]:
    lines = re.findall(r"\[(\d+)\] [\d.]+:\d+ - \"GET [^\"]*adapter_config\.json HTTP/1\.1\" 200", log.read_text())
    return {int(pid) for pid in lines}


@pytest.fixture
def hub_env(tmp_path: Path) -> dict[str, str]:
    """A file SQLite database and a local blob folder, migrated, for `hub serve` processes."""
    from hub.migrate import upgrade

    database_url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(database_url)
    env = replica_env(database_url, (tmp_path / "blobs").as_uri(), "", tmp_path)
    env.pop("HUB_S3_ENDPOINT_URL")
    return {**env, "HUB_DOWNLOAD_FLUSH_SECONDS": "60", "HUB_WEBHOOK_DELIVERY": "false"}


def _all_answered_then_sigterm(env: dict[str, str], log: Path) -> None:
    process, url = _serve(env, log, workers=2)
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            alice = Account("alice", make_token(env["HUB_DATABASE_URL"], "alice"))
            assert publish(http, alice, ADAPTER, tiny_lora_files()).status_code == 201
        with ThreadPoolExecutor(CLIENTS) as pool, _client(url) as http:
            codes = list(pool.map(_download, [http] * DOWNLOADS, range(DOWNLOADS)))
        assert codes == [200] * DOWNLOADS
        assert _stored(env["HUB_DATABASE_URL"]) == (0, 0)  # all still in the workers' memory
    finally:
        _sigterm(process)


def _sigterm_mid_run(env: dict[str, str], log: Path, after: int) -> list[int]:
    """DOWNLOADS more downloads; SIGTERM once `after` have been answered. The status of each."""
    process, url = _serve(env, log, workers=2)
    answered, enough = itertools.count(1), threading.Event()

    def download(index: int) -> int:
        code = _download(http, index)
        if next(answered) >= after:  # next() of a count is atomic under the GIL
            enough.set()
        return code

    with ThreadPoolExecutor(CLIENTS) as pool, _client(url) as http:
        futures = [pool.submit(download, index) for index in range(DOWNLOADS)]
        enough.wait(timeout=300)
        _sigterm(process)
        return [future.result() for future in futures]


def test_counts_are_exact_after_sigterm_on_two_workers(hub_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    _all_answered_then_sigterm(hub_env, log)
    assert _stored(hub_env["HUB_DATABASE_URL"]) == (DOWNLOADS, DOWNLOADS)
    assert len(_worker_pids(log)) == 2, log.read_text()[-2000:]  # both workers' memory held counts
    codes = _sigterm_mid_run(hub_env, log, after=DOWNLOADS // 4)
    served = codes.count(200)
    assert set(codes) <= {200, 0} and 0 < served < DOWNLOADS, (served, set(codes))
    assert _stored(hub_env["HUB_DATABASE_URL"]) == (DOWNLOADS + served, DOWNLOADS + served)
