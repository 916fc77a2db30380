"""Atomic publish under faults, on PostgreSQL + S3 with real processes:

- the S3 server (a moto process of this test's own) is killed while a blob streams in, and again
  between the uploads and the commit: the client gets 503 StorageUnavailable, no version appears,
  and once a server is back on the same port (empty: moto keeps its state in memory) a retry works;
- the hub's PostgreSQL connection is terminated (pg_terminate_backend) at the moment of commit:
  503 DatabaseUnavailable, no version, and the retry of the same upload works;
- afterwards `hub gc` leaves storage with exactly the referenced blobs and `hub fsck` is clean.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import event

from hub.config import Settings
from hub.maintenance.fsck import check_storage
from hub.maintenance.gc import collect_garbage
from hub.registry.models import Version
from hub.storage import BLOB_PREFIX, S3BlobStorage, blob_key
from tests.fixtures.hub import Account, make_account
from tests.fixtures.postgres import truncate_all
from tests.fixtures.replicas import FAKE_AWS_ENV, MotoProcess, create_bucket, free_port, start_moto, wait_until
from tests.helpers import assert_error, declare, tiny_lora_files

pytestmark = [pytest.mark.postgres, pytest.mark.s3]
MIB = 1 << 20
BIG = "tokenizer.model"  # an opaque file type: big enough for a multipart upload of several parts


def _files(seed: int = 0, big_mib: int = 0) -> dict[str, bytes]:
    files = tiny_lora_files(seed=seed)
    if big_mib:
        files[BIG] = os.urandom(big_mib * MIB)
    return files


@pytest.fixture
def pg_url(migrated_postgres_url) -> Iterator[str]:
    yield migrated_postgres_url
    truncate_all(migrated_postgres_url)


@pytest.fixture
def own_moto(tmp_path, monkeypatch) -> Iterator[MotoProcess]:
    for name, value in FAKE_AWS_ENV.items():
        if name not in os.environ:  # moto takes any credentials; botocore just needs some
            monkeypatch.setenv(name, value)
    moto = start_moto(tmp_path)
    yield moto
    moto.stop()


def _hub(pg_url: str, endpoint: str, bucket: str, tmp_path):
    from hub.app import create_app
    from hub.storage.s3 import client_config, make_s3_client

    settings = Settings(
        data_dir=tmp_path,
        database_url=pg_url,
        storage_url=f"s3://{bucket}/hub",
        s3_endpoint_url=endpoint,
        upload_chunk_bytes=5 * MIB,
        max_file_bytes=64 * MIB,
    )
    # Short timeouts and few retries, as an operator would want: a dead endpoint fails fast.
    config = client_config(path_style=True, connect_timeout=1, max_attempts=2)
    client = make_s3_client(endpoint, "us-east-1", config=config)
    return create_app(settings, storage=S3BlobStorage(bucket, "hub", client=client))


class Served:
    """The app on a real uvicorn (in a thread): uploads stream over a socket, chunk by chunk."""

    def __init__(self, app) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200, "the hub")
        self.http = httpx.Client(base_url=self.url, timeout=60)

    def close(self) -> None:
        self.http.close()
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _start(http: httpx.Client, account: Account, adapter: str, files: dict[str, bytes]) -> dict:
    response = http.post(f"/api/adapters/{adapter}/uploads", json={"files": declare(files)}, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def _put_all(http: httpx.Client, account: Account, files: dict[str, bytes], started: dict, skip: str | None = None):
    by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
    for blob in started["missing"]:
        if blob["path"] != skip:
            response = http.put(blob["url"], content=by_sha[blob["sha256"]], headers=account.headers)
            assert response.status_code == 200, response.text


def _commit(http: httpx.Client, account: Account, started: dict) -> httpx.Response:
    return http.post(started["commit_url"], json={"base_model": "tiny/llama-test"}, headers=account.headers)


def _publish(http: httpx.Client, account: Account, adapter: str, files: dict[str, bytes]) -> httpx.Response:
    started = _start(http, account, adapter, files)
    _put_all(http, account, files, started)
    return _commit(http, account, started)


def _no_version(http: httpx.Client, account: Account, adapter: str) -> None:
    response = http.get(f"/api/adapters/{adapter}", headers=account.headers)
    assert response.status_code == 404 or response.json()["versions"] == [], response.text


def _assert_downloads(http: httpx.Client, adapter: str, version: dict, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        response = http.get(f"/api/adapters/{adapter}/versions/{version['revision']}/files/{path}")
        assert response.status_code == 200 and response.content == data, path


def _gc_leaves_exactly_the_referenced_blobs(app, http: httpx.Client, adapters: list[str]) -> None:
    state = app.state
    collect_garbage(state.session_factory, state.storage, grace=timedelta(0), dry_run=False)
    referenced = set()
    for adapter in adapters:
        for listed in http.get(f"/api/adapters/{adapter}").json()["versions"]:
            detail = http.get(f"/api/adapters/{adapter}/versions/{listed['revision']}").json()
            referenced |= {blob_key(f["sha256"]) for f in detail["files"]}
    assert set(state.storage.list("")) == referenced  # no staged leftovers, no orphans, nothing missing
    assert set(state.storage.list(BLOB_PREFIX)) == referenced
    report = check_storage(state.session_factory, state.storage)
    assert report.ok and report.orphans == [], report.lines()


def test_s3_killed_mid_upload_then_back(pg_url, own_moto, tmp_path):
    bucket = create_bucket(own_moto.client())
    app = _hub(pg_url, own_moto.url, bucket, tmp_path)
    alice = make_account(app, "alice")
    served = Served(app)
    http = served.http
    try:
        # 1. S3 dies while the first blob (20 MiB, a multipart upload) streams in, after its first part.
        files = _files(seed=1, big_mib=20)
        started = _start(http, alice, "alice/faulty", files)
        url = {blob["path"]: blob["url"] for blob in started["missing"]}
        inspector = own_moto.client()

        def body() -> Iterator[bytes]:
            data = files[BIG]
            for offset in range(0, 12 * MIB, MIB):  # by 10 MiB in, the hub sends part 1 (8 MiB) to S3
                yield data[offset : offset + MIB]
            wait_until(lambda: _parts_stored(inspector, bucket) >= 1, "the first multipart part")
            own_moto.stop()
            for offset in range(12 * MIB, len(data), MIB):
                yield data[offset : offset + MIB]

        response = http.put(url[BIG], content=body(), headers=alice.headers)
        assert "Retry" in assert_error(response, 503, "StorageUnavailable")["message"]
        # 2. ... and the next blob, between blobs, while S3 is still down.
        config = http.put(url["adapter_config.json"], content=files["adapter_config.json"], headers=alice.headers)
        assert_error(config, 503, "StorageUnavailable")
        assert_error(_commit(http, alice, started), 400, "BlobMissing")
        _no_version(http, alice, "alice/faulty")

        # 3. A server is back on the same port (empty: moto keeps its state in memory); the client retries.
        own_moto.start()
        create_bucket(own_moto.client(), bucket)
        retried = _publish(http, alice, "alice/faulty", files)
        assert retried.status_code == 201, retried.text
        assert retried.json()["version"] == "v1"
        _assert_downloads(http, "alice/faulty", retried.json(), files)

        # 4. S3 dies between the uploads and the commit: validation cannot read the headers back.
        second = _files(seed=2)
        started = _start(http, alice, "alice/faulty", second)
        _put_all(http, alice, second, started)
        own_moto.stop()
        assert_error(_commit(http, alice, started), 503, "StorageUnavailable")
        assert [v["version"] for v in http.get("/api/adapters/alice/faulty").json()["versions"]] == ["v1"]
        own_moto.start()
        create_bucket(own_moto.client(), bucket)
        _restore_blobs(app, [*files.values(), *second.values()])  # a real S3 keeps its objects; moto's memory does not
        retried = _commit(http, alice, started)  # the same upload commits once storage answers again
        assert retried.status_code == 201, retried.text
        assert retried.json()["version"] == "v2"
        _assert_downloads(http, "alice/faulty", retried.json(), second)
        _gc_leaves_exactly_the_referenced_blobs(app, http, ["alice/faulty"])
    finally:
        served.close()
        app.state.engine.dispose()


def _parts_stored(client, bucket: str) -> int:
    uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return sum(
        len(client.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts", [])) for u in uploads
    )


def _restore_blobs(app, blobs: list[bytes]) -> None:
    """Re-seed the blobs the in-memory S3 lost on restart (a real S3 keeps them; moto does not)."""
    storage = app.state.storage
    for data in blobs:
        key = blob_key(hashlib.sha256(data).hexdigest())
        if not storage.exists(key):
            storage.put_bytes(key, data)


def test_database_connection_killed_mid_commit(pg_url, moto_server, s3_bucket, tmp_path):
    import psycopg

    app = _hub(pg_url, moto_server, s3_bucket, tmp_path)
    alice = make_account(app, "alice")
    served = Served(app)
    http = served.http
    killed: list[int] = []
    armed = threading.Event()

    def kill_my_connection(session) -> None:
        """At COMMIT of the publish transaction, the server ends this session's backend (a DBA's kill, a failover)."""
        if not armed.is_set() or not any(isinstance(obj, Version) for obj in session.identity_map.values()):
            return
        armed.clear()
        pid = session.connection().connection.dbapi_connection.info.backend_pid
        admin_url = pg_url.replace("postgresql+psycopg://", "postgresql://", 1)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        killed.append(pid)

    event.listen(app.state.session_factory, "before_commit", kill_my_connection)
    try:
        assert _publish(http, alice, "alice/steady", _files(seed=3)).status_code == 201
        files = _files(seed=4)
        started = _start(http, alice, "alice/steady", files)
        _put_all(http, alice, files, started)
        armed.set()
        failed = _commit(http, alice, started)
        assert killed, "the hook never fired"
        assert_error(failed, 503, "DatabaseUnavailable")
        versions = http.get("/api/adapters/alice/steady").json()["versions"]
        assert [v["version"] for v in versions] == ["v1"]  # no partial v2, and the refs still name v1
        assert http.get("/api/adapters/alice/steady").json()["refs"]["main"] == "v1"

        retried = _commit(http, alice, started)  # the pool replaces the dead connection; the upload is intact
        assert retried.status_code == 201, retried.text
        assert retried.json()["version"] == "v2"
        _assert_downloads(http, "alice/steady", retried.json(), files)

        # A brand-new adapter: the kill must not leave an adapter row without a version either.
        fresh = _files(seed=5)
        started = _start(http, alice, "alice/brand-new", fresh)
        _put_all(http, alice, fresh, started)
        armed.set()
        assert_error(_commit(http, alice, started), 503, "DatabaseUnavailable")
        assert_error(http.get("/api/adapters/alice/brand-new"), 404, "AdapterNotFound")
        assert _commit(http, alice, started).status_code == 201
        _gc_leaves_exactly_the_referenced_blobs(app, http, ["alice/steady", "alice/brand-new"])
    finally:
        served.close()
        event.remove(app.state.session_factory, "before_commit", kill_my_connection)
        app.state.engine.dispose()
