"""Two real hub processes (`python -m hub.cli serve`) sharing one PostgreSQL database and one S3 bucket.

What one replica writes, the other serves at once (nothing lives in process memory); concurrent
publishes to one adapter, spread over both, get distinct consecutive numbers or a clean 409 that a
retry resolves; concurrent tag moves end with one answer that every replica gives.
"""

from __future__ import annotations

import hashlib
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.fixtures.hub import Account
from tests.helpers import declare, publish, tiny_lora_files

if TYPE_CHECKING:
    from tests.fixtures.replicas import Cluster

pytest_plugins = ["tests.fixtures.replicas"]  # the replica_cluster and replicas fixtures (imported by pytest)
pytestmark = [pytest.mark.postgres, pytest.mark.s3]
WRITERS = 8


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60)


@pytest.fixture
def alice(replicas: Cluster) -> Account:
    from tests.fixtures.replicas import make_token

    return Account("alice", make_token(replicas.database_url, "alice"))


def _download_all(http: httpx.Client, adapter: str, revision: str) -> dict[str, bytes]:
    detail = http.get(f"/api/adapters/{adapter}/versions/{revision}")
    assert detail.status_code == 200, detail.text
    files = {}
    for entry in detail.json()["files"]:
        response = http.get(f"/api/adapters/{adapter}/versions/{revision}/files/{entry['path']}")
        assert response.status_code == 200, response.text
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        files[entry["path"]] = response.content
    return files


def test_publish_on_one_replica_read_from_the_other(replicas: Cluster, alice: Account, tmp_path):
    from sdk import Hub

    files = tiny_lora_files(seed=1)
    with _client(replicas.urls[0]) as a, _client(replicas.urls[1]) as b:
        published = publish(a, alice, "alice/shared", files, tags=["replicated"])
        assert published.status_code == 201, published.text
        revision = published.json()["revision"]
        assert _download_all(b, "alice/shared", revision) == files
        assert _download_all(b, "alice/shared", "main") == files
        found = b.get("/api/adapters", params={"q": "shared", "tag": "replicated"}).json()
        assert [item["id"] for item in found["adapters"]] == ["alice/shared"]
        assert b.get("/alice/shared/resolve/main/adapter_config.json").content == files["adapter_config.json"]
    with Hub(replicas.urls[1], alice.token, cache_dir=tmp_path / "cache") as hub:  # the SDK's pull path
        folder = hub.download("alice/shared")
        assert {path: (folder / path).read_bytes() for path in files} == files


def _publish_with_retries(url: str, account: Account, adapter: str, files: dict[str, bytes], barrier) -> dict:
    """Upload everything, wait for the other writers, then commit; a 409 is retried (the upload stays open)."""
    with _client(url) as http:
        started = http.post(f"/api/adapters/{adapter}/uploads", json={"files": declare(files)}, headers=account.headers)
        assert started.status_code == 201, started.text
        by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
        for blob in started.json()["missing"]:
            put = http.put(blob["url"], content=by_sha[blob["sha256"]], headers=account.headers)
            assert put.status_code == 200, put.text
        barrier.wait(timeout=60)
        conflicts = 0
        while True:
            committed = http.post(
                started.json()["commit_url"], json={"base_model": "tiny/llama-test"}, headers=account.headers
            )
            if committed.status_code != 409:
                break
            assert committed.headers["X-Error-Code"] == "VersionConflict", committed.text
            conflicts += 1
            assert conflicts < 50, "a publish kept conflicting"
        assert committed.status_code == 201, committed.text
        return {**committed.json(), "conflicts": conflicts}


def test_concurrent_publishes_over_both_replicas(replicas: Cluster, alice: Account):
    sets = [tiny_lora_files(seed=100 + index) for index in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [
            pool.submit(_publish_with_retries, replicas.urls[index % 2], alice, "alice/race", files, barrier)
            for index, files in enumerate(sets)
        ]
        results = [future.result() for future in futures]
    numbers = sorted(int(result["version"][1:]) for result in results)
    print(f"{sum(r['conflicts'] for r in results)} commits answered 409 VersionConflict and were retried")
    assert numbers == list(range(1, WRITERS + 1))  # distinct and consecutive: nothing lost, nothing doubled
    with _client(replicas.urls[0]) as a, _client(replicas.urls[1]) as b:
        for http in (a, b):
            info = http.get("/api/adapters/alice/race").json()
            assert sorted(v["version"] for v in info["versions"]) == sorted(f"v{n}" for n in numbers)
            assert info["refs"]["main"] == f"v{WRITERS}"
        for index, (result, files) in enumerate(zip(results, sets, strict=True)):
            other = (b, a)[index % 2]  # read each version back from the replica that did not publish it
            assert _download_all(other, "alice/race", result["revision"]) == files
        assert a.get("/api/adapters", params={"q": "race"}).json()["total"] == 1


def test_concurrent_tag_moves_end_consistent(replicas: Cluster, alice: Account):
    with _client(replicas.urls[0]) as a:
        revisions = [publish(a, alice, "alice/tags", tiny_lora_files(seed=s)).json()["version"] for s in range(4)]
    assert revisions == ["v1", "v2", "v3", "v4"]
    barrier = threading.Barrier(WRITERS)
    moves: list[tuple[float, str, int]] = []
    lock = threading.Lock()

    def mover(index: int) -> None:
        rng = random.Random(index)
        with _client(replicas.urls[index % 2]) as http:
            barrier.wait(timeout=60)
            for _ in range(10):
                target = rng.choice(revisions)
                while True:
                    response = http.put(
                        "/api/adapters/alice/tags/refs/stable", json={"revision": target}, headers=alice.headers
                    )
                    if response.status_code != 409:
                        break
                    assert response.headers["X-Error-Code"] == "VersionConflict", response.text
                assert response.status_code == 200, response.text
                with lock:
                    moves.append((index, target, response.status_code))

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(mover, index) for index in range(WRITERS)]:
            future.result()
    assert len(moves) == WRITERS * 10
    answers: list[Any] = []
    with _client(replicas.urls[0]) as a, _client(replicas.urls[1]) as b:
        for http in (a, b):
            info = http.get("/api/adapters/alice/tags").json()
            stable = http.get("/api/adapters/alice/tags/versions/stable").json()
            answers.append((info["refs"]["stable"], stable["version"], stable["revision"]))
            assert info["refs"]["main"] == "v4"  # tag moves never touch main
    assert answers[0] == answers[1]
    assert answers[0][0] in revisions and answers[0][0] == answers[0][1]
