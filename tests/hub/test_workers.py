"""`hub serve --workers 2` as a real process tree on one port, and two replicas on one PostgreSQL + S3.

Both workers answer (their process ids in uvicorn's access log), and a tag move made through the API is the
answer of the very next request, whichever worker or replica takes it: nothing a reader needs is kept in
one process's memory, and no document cache or ETag outlives the move.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.fixtures.hub import Account
from tests.fixtures.replicas import (
    ROOT,
    Cluster,
    create_bucket,
    empty_bucket,
    free_port,
    make_token,
    replica_env,
    wait_until,
)
from tests.helpers import publish, tiny_lora_files

MOVES = 20
READERS = 4  # concurrent connections per check, so the kernel hands them to both workers
ADAPTER = "alice/rolling"


@dataclass
class Served:
    url: str
    log: Path
    database_url: str


def _serve(env: dict[str, str], log: Path, workers: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"hub serve exited with {process.returncode}: {log.read_text()[-2000:]}")
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200

    wait_until(up, f"hub serve --workers {workers}", timeout=120)
    return process, url


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def two_workers(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Served]:
    """`hub serve --workers 2` on SQLite + a local folder, or on PostgreSQL + S3 (moto)."""
    if backend == "sqlite-local":
        from hub.migrate import upgrade

        database_url, storage_url, endpoint = f"sqlite:///{tmp_path / 'hub.db'}", (tmp_path / "blobs").as_uri(), ""
        upgrade(database_url)
    else:
        from tests.fixtures.postgres import truncate_all

        database_url = request.getfixturevalue("migrated_postgres_url")
        s3 = request.getfixturevalue("s3_client")
        bucket = create_bucket(s3)
        storage_url, endpoint = f"s3://{bucket}/hub", request.getfixturevalue("moto_server")
        request.addfinalizer(lambda: (truncate_all(database_url), empty_bucket(s3, bucket)))
    env = replica_env(database_url, storage_url, endpoint, tmp_path)
    if not endpoint:
        env.pop("HUB_S3_ENDPOINT_URL")
    log = tmp_path / "serve.log"
    process, url = _serve(env, log, workers=2)
    try:
        yield Served(url, log, database_url)
    finally:
        _stop(process)


def _publish_two(url: str, account: Account) -> tuple[str, str]:
    with httpx.Client(base_url=url, timeout=60) as http:
        first = publish(http, account, ADAPTER, tiny_lora_files(seed=1)).json()["revision"]
        second = publish(http, account, ADAPTER, tiny_lora_files(seed=2)).json()["revision"]
    return first, second


def _move_stable(url: str, account: Account, revision: str) -> None:
    moved = httpx.put(f"{url}/api/adapters/{ADAPTER}/refs/stable", json={"revision": revision}, headers=account.headers)
    assert moved.status_code == 200, moved.text


def _what_stable_names(url: str, stale_etag: str | None) -> tuple[str, str, str]:
    """One new connection each: the version document's revision, its ETag, and what HF resolve HEAD names."""
    headers = {"If-None-Match": stale_etag} if stale_etag else {}
    document = httpx.get(f"{url}/api/adapters/{ADAPTER}/versions/stable", headers=headers, timeout=30)
    assert document.status_code == 200, document.status_code  # a 304 would be the old version's document
    resolved = httpx.head(f"{url}/{ADAPTER}/resolve/stable/adapter_config.json", timeout=30)
    return document.json()["revision"], document.headers["ETag"], resolved.headers["X-Repo-Commit"]


def _check_every_move(mover_urls: list[str], reader_urls: list[str], account: Account) -> None:
    """Move `stable` MOVES times (through each mover in turn); the next requests, on every reader, see it."""
    revisions = _publish_two(mover_urls[0], account)
    etags: dict[str, str] = {}
    with ThreadPoolExecutor(READERS * len(reader_urls)) as pool:
        for move in range(MOVES):
            target = revisions[move % 2]
            _move_stable(mover_urls[move % len(mover_urls)], account, target)
            stale = etags.get(revisions[(move + 1) % 2])
            urls = reader_urls * READERS
            answers = list(pool.map(_what_stable_names, urls, [stale] * len(urls)))
            assert {(revision, commit) for revision, _, commit in answers} == {(target, target)}, move
            etags[target] = answers[0][1]


def _access_pids(log: Path) -> set[int]:
    lines = re.findall(rf"\[(\d+)\] [\d.]+:\d+ - \"GET /api/adapters/{ADAPTER}/versions/stable", log.read_text())
    return {int(pid) for pid in lines}


def test_both_workers_answer_and_see_every_tag_move_at_once(two_workers: Served):
    alice = Account("alice", make_token(two_workers.database_url, "alice"))
    _check_every_move([two_workers.url], [two_workers.url], alice)
    started = {int(pid) for pid in re.findall(r"Started server process \[(\d+)\]", two_workers.log.read_text())}
    assert len(started) == 2, two_workers.log.read_text()[-2000:]
    assert _access_pids(two_workers.log) == started  # both workers answered reads of the moving tag


def test_serve_refuses_zero_workers(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "hub.cli", "serve", "--workers", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=replica_env(f"sqlite:///{tmp_path / 'hub.db'}", (tmp_path / "blobs").as_uri(), "", tmp_path),
        timeout=60,
    )
    assert result.returncode == 2 and "must be 1 or more" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.postgres
@pytest.mark.s3
def test_a_tag_move_on_one_replica_is_seen_by_both_at_once(replicas: Cluster):
    alice = Account("alice", make_token(replicas.database_url, "alice"))
    _check_every_move(replicas.urls, replicas.urls, alice)
