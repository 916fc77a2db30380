"""SDK downloads when the hub redirects them to S3 (HUB_S3_REDIRECT_DOWNLOADS): the bytes come from storage,
the hub's token never reaches it, ranges are repeated to it, and the sha256 is verified as always.

What storage received is seen by a recording front on moto's own WSGI app (the same in-process S3 backend as
the session's moto server), so the check is made where the request lands, not inside the client.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

from hub.config import Settings
from hub.storage import blob_key
from sdk import Hub
from sdk._http import HttpSession
from sdk.cache import HashingWriter
from sdk.errors import DigestMismatch, HubError
from tests.helpers import tiny_lora_files
from tests.sdk.test_support import Traffic, cache_files, write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")
WEIGHTS = "adapter_model.safetensors"
Published = tuple[dict[str, Any], dict[str, bytes]]  # the version document and the files' bytes


@dataclass
class StorageLog:
    requests: list[dict[str, str]] = field(default_factory=list)  # method, path, query, authorization, range

    def presigned_gets(self) -> list[dict[str, str]]:
        return [seen for seen in self.requests if seen["method"] == "GET" and "X-Amz-Signature=" in seen["query"]]


class _Recording:
    """WSGI middleware in front of moto: notes each request's method, target and credentials."""

    def __init__(self, app: Any, log: StorageLog) -> None:
        self.app, self.log = app, log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        seen = {key: environ.get(name, "") for key, name in _NOTED.items()}
        self.log.requests.append(seen)
        return self.app(environ, start_response)


_NOTED = {
    "method": "REQUEST_METHOD",
    "path": "PATH_INFO",
    "query": "QUERY_STRING",
    "authorization": "HTTP_AUTHORIZATION",
    "range": "HTTP_RANGE",
    "checksum": "HTTP_X_AMZ_CHECKSUM_SHA256",
}


@pytest.fixture(scope="session")
def recording_s3(moto_server: str) -> Iterator[tuple[str, StorageLog]]:
    """A second S3 endpoint on moto's backend (buckets made through moto_server are visible) that records."""
    log = StorageLog()
    server = make_server("127.0.0.1", 0, _Recording(DomainDispatcherApplication(create_backend_app), log), True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", log
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def backend() -> str:
    return "postgres-s3"


@pytest.fixture
def redirect() -> bool:
    return True


@pytest.fixture
def direct() -> bool:
    return False  # tests parametrize it to True for uploads straight to storage


@pytest.fixture
def storage_log(recording_s3: tuple[str, StorageLog]) -> StorageLog:
    recording_s3[1].requests.clear()
    return recording_s3[1]


@pytest.fixture
def settings(settings: Settings, redirect: bool, direct: bool, recording_s3: tuple[str, StorageLog]) -> Settings:
    endpoint = recording_s3[0]
    update = {"s3_redirect_downloads": redirect, "s3_endpoint_url": endpoint, "s3_direct_uploads": direct}
    return settings.model_copy(update=update | ({"s3_public_endpoint_url": endpoint} if direct else {}))


@pytest.fixture
def published(hub: Hub, tmp_path: Path) -> Published:
    files = tiny_lora_files(seed=11)
    version = hub.publish(write_folder(tmp_path / "src", files), "alice/far", base_model="tiny/llama-test")
    return version, files


def test_download_reads_from_storage_without_the_token(
    hub: Hub, published: Published, traffic: Traffic, storage_log: StorageLog
) -> None:
    version, files = published
    traffic.reset()
    folder = hub.download("alice/far")
    assert {path: (folder / path).read_bytes() for path in files} == files
    assert traffic.file_bytes_sent == 0  # every byte came from storage
    gets = storage_log.presigned_gets()
    assert sorted(seen["path"].rsplit("/", 1)[-1] for seen in gets) == sorted(f["sha256"] for f in version["files"])
    assert [seen["authorization"] for seen in gets] == [""] * len(files)
    assert not any("Bearer" in seen["authorization"] for seen in storage_log.requests)


def test_a_resumed_download_repeats_its_range_to_storage(
    hub_url: str, alice: Any, published: Published, storage_log: StorageLog, tmp_path: Path
) -> None:
    version, files = published
    path = f"/api/adapters/alice/far/versions/{version['revision']}/files/{WEIGHTS}"
    data = files[WEIGHTS]
    session = HttpSession(hub_url, alice.token, retries=0, backoff=0, timeout=30)
    with (tmp_path / "partial").open("w+b") as out:
        out.write(data[:100])  # what an interrupted attempt left behind
        session.download(path, out, len(data), what="resume")
        out.seek(0)
        assert out.read() == data
    session.close()
    assert [seen["range"] for seen in storage_log.presigned_gets()] == ["bytes=100-"]


def test_bytes_changed_in_storage_are_refused(hub: Hub, published: Published, s3_client: Any, s3_bucket: str) -> None:
    _, files = published
    digest = hashlib.sha256(files[WEIGHTS]).hexdigest()
    tampered = bytes([files[WEIGHTS][0] ^ 0xFF]) + files[WEIGHTS][1:]
    s3_client.put_object(Bucket=s3_bucket, Key=f"hub/{blob_key(digest)}", Body=tampered)
    with pytest.raises(DigestMismatch):
        hub.download("alice/far")
    assert all(digest not in path for path in cache_files(hub.cache.root))


@pytest.mark.parametrize("redirect", [False])
def test_with_redirects_off_the_hub_streams_the_bytes(
    hub: Hub, published: Published, traffic: Traffic, storage_log: StorageLog
) -> None:
    _, files = published
    traffic.reset()
    folder = hub.download("alice/far")
    assert {path: (folder / path).read_bytes() for path in files} == files
    assert traffic.file_bytes_sent == sum(len(data) for data in files.values())
    assert storage_log.presigned_gets() == []


def test_the_digest_is_computed_while_writing_and_restarts_with_the_file(tmp_path: Path) -> None:
    with (tmp_path / "blob").open("w+b") as raw:
        out = HashingWriter(raw)
        out.write(b"bytes of an attempt the server answered with 200 instead of 206")
        out.seek(0)
        out.truncate()  # what a download does when the server ignored its Range
        for chunk in (b"the ", b"real ", b"bytes"):
            out.write(chunk)
        with pytest.raises(ValueError):
            out.seek(4)
        assert out.tell() == len(b"the real bytes")
        assert out.hexdigest() == hashlib.sha256(b"the real bytes").hexdigest()
    assert (tmp_path / "blob").read_bytes() == b"the real bytes"


def test_a_storage_error_names_the_object_but_not_the_signature(
    hub: Hub, published: Published, s3_client: Any, s3_bucket: str
) -> None:
    _, files = published
    digest = hashlib.sha256(files[WEIGHTS]).hexdigest()
    s3_client.delete_object(Bucket=s3_bucket, Key=f"hub/{blob_key(digest)}")  # storage lost it behind the hub's back
    with pytest.raises(HubError) as raised:
        hub.download("alice/far")
    assert raised.value.status == 404 and digest in str(raised.value)
    assert "Signature" not in str(raised.value)


@pytest.mark.parametrize("direct", [True])
def test_a_large_file_is_published_straight_to_storage_in_checksummed_parts(
    hub: Hub, traffic: Traffic, storage_log: StorageLog, tmp_path: Path, s3_client: Any, s3_bucket: str
) -> None:
    files = tiny_lora_files(rank=10_000, seed=12)  # about 18 MB of weights: three parts
    weights = files[WEIGHTS]
    traffic.reset()
    version = hub.publish(write_folder(tmp_path / "src", files), "alice/direct", base_model="tiny/llama-test")
    assert version["version"] == "v1"
    assert traffic.upload_bytes < 4096  # only the small files passed through the hub
    parts = [seen for seen in storage_log.requests if seen["method"] == "PUT" and "partNumber=" in seen["query"]]
    part_size = 8 << 20
    expected = [weights[offset : offset + part_size] for offset in range(0, len(weights), part_size)]
    assert sorted(seen["checksum"] for seen in parts) == sorted(
        base64.b64encode(hashlib.sha256(part).digest()).decode() for part in expected
    )
    assert [seen["authorization"] for seen in parts] == [""] * len(expected)  # the URL is the only credential
    folder = hub.download(f"alice/direct@{version['revision']}")
    assert (folder / WEIGHTS).read_bytes() == weights
    staged = [item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert not [key for key in staged if "/uploads/" in key]
