"""What only the S3 backend has: part uploads, prefixes inside a bucket, unreachable endpoints."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from hub.storage import BlobNotFound, S3BlobStorage, StorageError
from hub.storage.s3 import MIB, PART_SIZE, S3BlobWriter, client_config, make_s3_client

pytestmark = pytest.mark.s3

KEY = "blobs/object"
MIN_PART = 5 * MIB  # the smallest part S3 (and moto) accept for all but the last


@pytest.fixture
def storage(moto_server: str, s3_bucket: str) -> S3BlobStorage:
    return S3BlobStorage(s3_bucket, "hub", endpoint_url=moto_server, region="us-east-1")


def _record_operations(storage: S3BlobStorage) -> list[str]:
    """The S3 operations the storage's client sends from now on (botocore's event hooks, no mock)."""
    operations: list[str] = []
    storage.client.meta.events.register(
        "before-call.s3", lambda model, **_: operations.append(model.name), unique_id=f"record-{id(operations)}"
    )
    return operations


def test_one_part_or_less_is_a_single_put(storage: S3BlobStorage) -> None:
    operations = _record_operations(storage)
    writer = S3BlobWriter(storage.client, storage.bucket, f"hub/{KEY}", "test", part_size=MIN_PART)
    for _ in range(5):
        writer.write(b"x" * MIB)  # exactly one part: no reason for a multipart upload
    writer.commit()
    assert operations == ["PutObject"]
    assert storage.size(KEY) == MIN_PART


def test_parts_upload_while_writing_and_complete_on_commit(storage: S3BlobStorage, s3_client: Any) -> None:
    operations = _record_operations(storage)
    writer = S3BlobWriter(storage.client, storage.bucket, f"hub/{KEY}", "test", part_size=MIN_PART)
    writer.write(b"a" * (MIN_PART + 1))
    assert operations == ["CreateMultipartUpload", "UploadPart"]  # memory stays at about one part
    writer.write(b"b" * MIN_PART)
    writer.commit()
    assert operations[2:] == ["UploadPart", "UploadPart", "CompleteMultipartUpload"]
    head = s3_client.head_object(Bucket=storage.bucket, Key=f"hub/{KEY}")
    assert head["ETag"].endswith('-3"')  # S3's mark of a three-part object
    assert storage.read_range(KEY, MIN_PART - 1, 3) == b"aab"


def test_hub_part_size_is_valid_for_s3() -> None:
    assert 5 * MIB <= PART_SIZE


def test_keys_live_under_the_prefix(storage: S3BlobStorage, s3_client: Any) -> None:
    storage.put_bytes(KEY, b"data")
    listed = s3_client.list_objects_v2(Bucket=storage.bucket)["Contents"]
    assert [item["Key"] for item in listed] == [f"hub/{KEY}"]
    assert storage.describe() == f"s3://{storage.bucket}/hub"


def test_storages_with_other_prefixes_do_not_see_each_other(
    storage: S3BlobStorage, moto_server: str, s3_bucket: str
) -> None:
    neighbour = S3BlobStorage(s3_bucket, "hubby", endpoint_url=moto_server)
    neighbour.put_bytes(KEY, b"neighbour")
    storage.put_bytes(KEY, b"mine")
    assert list(storage.list()) == [KEY]
    assert storage.read_range(KEY, 0, 100) == b"mine"


def test_list_skips_objects_no_key_can_name(storage: S3BlobStorage, s3_client: Any) -> None:
    for foreign in ("hub/blobs/", "hub//double", "hub/.hidden"):  # console folder markers and the like
        s3_client.put_object(Bucket=storage.bucket, Key=foreign, Body=b"")
    storage.put_bytes(KEY, b"data")
    assert list(storage.list()) == [KEY]


def test_missing_bucket_is_a_storage_error(moto_server: str) -> None:
    storage = S3BlobStorage("no-such-bucket-here", endpoint_url=moto_server)
    with pytest.raises(StorageError) as raised:
        storage.put_bytes(KEY, b"data")
    assert not isinstance(raised.value, BlobNotFound)
    assert "NoSuchBucket" in str(raised.value)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


UNREACHABLE_CALLS: dict[str, Callable[[S3BlobStorage], object]] = {
    "put_bytes": lambda s: s.put_bytes(KEY, b"data"),
    "size": lambda s: s.size(KEY),
    "exists": lambda s: s.exists(KEY),
    "iter_range": lambda s: s.iter_range(KEY),
    "delete": lambda s: s.delete(KEY),
    "move": lambda s: s.move(KEY, "blobs/other"),
    "list": lambda s: list(s.list()),
    "writer-commit": lambda s: s.writer(KEY).commit(),
    "writer-multipart": lambda s: s.writer(KEY).write(b"x" * (PART_SIZE + 1)),
}


@pytest.mark.parametrize("call", UNREACHABLE_CALLS.values(), ids=UNREACHABLE_CALLS.keys())
def test_unreachable_endpoint_raises_storage_error_quickly(call: Callable[[S3BlobStorage], object]) -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    config = client_config(path_style=True, connect_timeout=0.5, max_attempts=1)
    storage = S3BlobStorage("bucket", client=make_s3_client(endpoint, "us-east-1", config=config))
    started = time.monotonic()
    with pytest.raises(StorageError) as raised:
        call(storage)
    assert time.monotonic() - started < 5
    assert type(raised.value) is StorageError  # neither BlobNotFound nor a botocore class
    assert not isinstance(raised.value, BotoCoreError | ClientError)
    assert isinstance(raised.value.__cause__, BotoCoreError)  # the original is kept for the logs
