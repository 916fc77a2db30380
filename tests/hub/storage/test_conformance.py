"""One suite, every backend: the BlobStorage contract of hub/storage/base.py.

Each test runs against a local folder and against S3 (a moto server over real HTTP). After each
test the backend must have left nothing of its own behind: no temporary files in the local
`.tmp/`, no unfinished multipart upload in the bucket.
"""

from __future__ import annotations

import base64
import hashlib
import random
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.storage import (
    BLOB_PREFIX,
    BlobNotFound,
    BlobStorage,
    BlobWriter,
    DirectUploads,
    StorageError,
    blob_key,
    create_storage,
    direct_staging_key,
    sha256_from_blob_key,
    staging_key,
)

MIB = 1 << 20
KEY = "uploads/0123456789abcdef0123456789abcdef/some-object"
DATA = bytes(range(256)) * 4  # 1024 bytes where every offset is easy to check


@dataclass
class Backend:
    name: str
    storage: BlobStorage
    leftovers: Callable[[], list[str]]  # what the backend left of its own: temp files, open uploads


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = _local_backend(tmp_path / "store") if request.param == "local" else _s3_backend(request)
    yield made
    assert made.leftovers() == [], f"{made.name} backend left temporary state behind"


@pytest.fixture
def s3_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """The backends that take direct uploads (S3 alone), checked for leftovers like `backend`."""
    made = _s3_backend(request)
    yield made
    assert made.leftovers() == [], "s3 backend left an unfinished upload behind"


@pytest.fixture
def storage(backend: Backend) -> BlobStorage:
    return backend.storage


def _local_backend(root: Path) -> Backend:
    storage = create_storage(root.as_uri())
    return Backend("local", storage, lambda: sorted(path.name for path in (root / ".tmp").iterdir()))


def _s3_backend(request: pytest.FixtureRequest) -> Backend:
    # Fixtures looked up lazily, so a run of the local cases alone never starts moto.
    endpoint = request.getfixturevalue("moto_server")
    url = request.getfixturevalue("s3_storage_url")
    bucket, client = request.getfixturevalue("s3_bucket"), request.getfixturevalue("s3_client")
    storage = create_storage(url, s3_endpoint_url=endpoint, s3_region="us-east-1")
    return Backend("s3", storage, lambda: _pending_multipart_uploads(client, bucket))


def _pending_multipart_uploads(client: Any, bucket: str) -> list[str]:
    return [upload["Key"] for upload in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def _random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _read_all(storage: BlobStorage, key: str) -> bytes:
    return b"".join(storage.iter_range(key))


def test_backend_satisfies_the_protocols(storage: BlobStorage) -> None:
    assert isinstance(storage, BlobStorage)
    writer = storage.writer(KEY)
    assert isinstance(writer, BlobWriter)
    writer.abort()


def test_put_then_read_round_trip(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, DATA)
    assert storage.exists(KEY)
    assert storage.size(KEY) == len(DATA)
    assert _read_all(storage, KEY) == DATA
    assert storage.read_range(KEY, 0, len(DATA)) == DATA


def test_modified_is_the_write_time(storage: BlobStorage) -> None:
    before = time.time()
    storage.put_bytes(KEY, DATA)
    # S3 keeps whole seconds; allow for that and for a little clock skew with the server.
    assert before - 2 <= storage.modified(KEY) <= time.time() + 2


def test_put_replaces_the_existing_object(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, DATA)
    storage.put_bytes(KEY, b"shorter")
    assert _read_all(storage, KEY) == b"shorter"
    assert storage.size(KEY) == 7


def test_empty_object(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, b"")
    assert storage.exists(KEY)
    assert storage.size(KEY) == 0
    assert list(storage.iter_range(KEY)) == []
    assert storage.read_range(KEY, 0, 10) == b""


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, None), (10, 20), (1000, None), (1000, 5000), (1023, 1024), (1024, None), (2000, 3000), (5, 5)],
    ids=["all", "middle", "tail", "end-past-size", "last-byte", "start-at-size", "start-past-size", "empty"],
)
def test_iter_range(storage: BlobStorage, start: int, end: int | None) -> None:
    storage.put_bytes(KEY, DATA)
    assert b"".join(storage.iter_range(KEY, start, end)) == DATA[start:end]


def test_iter_range_honours_chunk_size(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, DATA)
    chunks = list(storage.iter_range(KEY, 3, 1000, chunk_size=100))
    assert all(0 < len(chunk) <= 100 for chunk in chunks)
    assert b"".join(chunks) == DATA[3:1000]


@pytest.mark.parametrize(("start", "length"), [(0, 10), (1000, 100), (1024, 1), (5, 0)])
def test_read_range(storage: BlobStorage, start: int, length: int) -> None:
    storage.put_bytes(KEY, DATA)
    assert storage.read_range(KEY, start, length) == DATA[start : start + length]


@pytest.mark.parametrize(("start", "end", "chunk_size"), [(-1, None, 1), (10, 5, 1), (0, None, 0)])
def test_iter_range_rejects_nonsense(storage: BlobStorage, start: int, end: int | None, chunk_size: int) -> None:
    storage.put_bytes(KEY, DATA)
    with pytest.raises(ValueError):
        storage.iter_range(KEY, start, end, chunk_size)


MISSING_KEY_CALLS: dict[str, Callable[[BlobStorage], object]] = {
    "size": lambda s: s.size(KEY),
    "modified": lambda s: s.modified(KEY),
    # iter_range is not iterated: BlobNotFound must come from the call, before any streaming.
    "iter_range": lambda s: s.iter_range(KEY),
    "iter_range-slice": lambda s: s.iter_range(KEY, 10, 20),
    "read_range": lambda s: s.read_range(KEY, 0, 10),
    "move": lambda s: s.move(KEY, "elsewhere"),
}


@pytest.mark.parametrize("call", MISSING_KEY_CALLS.values(), ids=MISSING_KEY_CALLS.keys())
def test_missing_key_raises_blob_not_found(storage: BlobStorage, call: Callable[[BlobStorage], object]) -> None:
    with pytest.raises(BlobNotFound) as raised:
        call(storage)
    # Callers may catch it as either, and never see a backend exception.
    assert isinstance(raised.value, StorageError)
    assert isinstance(raised.value, FileNotFoundError)
    assert not storage.exists("elsewhere")


def test_missing_key_does_not_exist(storage: BlobStorage) -> None:
    assert not storage.exists(KEY)


def test_a_folder_of_keys_is_not_an_object(storage: BlobStorage) -> None:
    storage.put_bytes("dir/inner", DATA)
    assert not storage.exists("dir")
    with pytest.raises(BlobNotFound):
        storage.size("dir")
    storage.delete("dir")  # nothing there: a no-op that must not touch dir/inner
    assert storage.exists("dir/inner")


def test_writer_with_many_small_chunks(storage: BlobStorage) -> None:
    data = _random_bytes(200_000, seed=1)
    writer = storage.writer(KEY)
    position = 0
    for size in [1, 0, 7, 4096, 1, 65_537] * 100:
        writer.write(data[position : position + size])
        position += size
    writer.write(data[position:])
    writer.commit()
    assert _read_all(storage, KEY) == data


def test_writer_larger_than_one_part(storage: BlobStorage) -> None:
    """17 MiB in odd-sized chunks: on S3 three parts of a multipart upload (8 + 8 + 1 MiB)."""
    data = _random_bytes(17 * MIB, seed=2)
    writer = storage.writer(KEY)
    for offset in range(0, len(data), 3 * MIB - 5):
        writer.write(data[offset : offset + 3 * MIB - 5])
    writer.commit()
    assert storage.size(KEY) == len(data)
    digest = hashlib.sha256()
    for chunk in storage.iter_range(KEY):
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert storage.read_range(KEY, 8 * MIB - 3, 6) == data[8 * MIB - 3 : 8 * MIB + 3]


def test_written_object_is_invisible_until_commit(storage: BlobStorage) -> None:
    writer = storage.writer(KEY)
    writer.write(DATA)
    assert not storage.exists(KEY)
    assert list(storage.list()) == []
    writer.commit()
    assert list(storage.list()) == [KEY]


def test_readers_see_the_old_object_until_the_new_one_commits(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, b"old")
    writer = storage.writer(KEY)
    writer.write(DATA)
    assert _read_all(storage, KEY) == b"old"
    writer.commit()
    assert _read_all(storage, KEY) == DATA


def test_concurrent_writers_to_one_key_last_commit_wins(storage: BlobStorage) -> None:
    first, second = storage.writer(KEY), storage.writer(KEY)
    first.write(b"a" * 100)
    second.write(b"b" * 50)
    first.write(b"a" * 100)
    first.commit()
    second.commit()
    assert _read_all(storage, KEY) == b"b" * 50


@pytest.mark.parametrize("size", [0, 1000, 8 * MIB + 1], ids=["nothing", "small", "past-one-part"])
def test_abort_leaves_nothing(backend: Backend, size: int) -> None:
    writer = backend.storage.writer(KEY)
    writer.write(_random_bytes(size))
    writer.abort()
    writer.abort()  # idempotent
    assert not backend.storage.exists(KEY)
    assert list(backend.storage.list()) == []
    assert backend.leftovers() == []


def test_abort_after_commit_keeps_the_object(storage: BlobStorage) -> None:
    writer = storage.writer(KEY)
    writer.write(DATA)
    writer.commit()
    writer.abort()
    assert _read_all(storage, KEY) == DATA


def test_finished_writer_refuses_more(storage: BlobStorage) -> None:
    committed, aborted = storage.writer(KEY), storage.writer("other")
    committed.commit()
    aborted.abort()
    for writer in (committed, aborted):
        with pytest.raises(ValueError):
            writer.write(b"more")
        with pytest.raises(ValueError):
            writer.commit()
    assert storage.size(KEY) == 0
    storage.delete(KEY)


def test_move_promotes_and_removes_the_source(storage: BlobStorage) -> None:
    sha = hashlib.sha256(DATA).hexdigest()
    staged = staging_key("0" * 32, sha)
    storage.put_bytes(staged, DATA)
    storage.put_bytes(blob_key(sha), b"stale bytes to replace")
    storage.move(staged, blob_key(sha))
    assert not storage.exists(staged)
    assert _read_all(storage, blob_key(sha)) == DATA
    assert list(storage.list()) == [blob_key(sha)]


def test_move_onto_itself_keeps_the_object(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, DATA)
    storage.move(KEY, KEY)
    assert _read_all(storage, KEY) == DATA


def test_delete_is_idempotent(storage: BlobStorage) -> None:
    storage.put_bytes(KEY, DATA)
    storage.delete(KEY)
    storage.delete(KEY)
    assert not storage.exists(KEY)
    assert list(storage.list()) == []


def test_list_is_sorted_and_filtered_by_prefix(storage: BlobStorage) -> None:
    # "a-b" < "a/x" < "ab" in string order, which a naive folder walk would get wrong.
    keys = ["b", "ab", "a/y/z", "a/x", "a-b", "a.c/d", "é", "a/xx"]
    for key in keys:
        storage.put_bytes(key, key.encode())
    assert list(storage.list()) == sorted(keys)
    assert list(storage.list("a/")) == ["a/x", "a/xx", "a/y/z"]
    assert list(storage.list("a/x")) == ["a/x", "a/xx"]
    assert list(storage.list("a")) == ["a-b", "a.c/d", "a/x", "a/xx", "a/y/z", "ab"]
    assert list(storage.list("nothing/")) == []


def test_blob_keys_list_back_to_their_digests(storage: BlobStorage) -> None:
    digests = sorted(hashlib.sha256(bytes([n])).hexdigest() for n in range(5))
    for digest in digests:
        storage.put_bytes(blob_key(digest), b"")
    storage.put_bytes(staging_key("f" * 32, digests[0]), b"")
    assert [sha256_from_blob_key(key) for key in storage.list(BLOB_PREFIX)] == digests


def test_presigned_get_url(backend: Backend) -> None:
    backend.storage.put_bytes(KEY, DATA)
    url = backend.storage.presigned_get_url(KEY, expires_s=60)
    if backend.name == "local":
        assert url is None
        return
    assert url is not None
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == DATA


DIRECT_KEY = direct_staging_key("0" * 32, "a" * 64, "0123456789abcdef")


def _b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def _put_parts(urls: list[str], parts: list[bytes], checksums: list[str]) -> None:
    for url, part, checksum in zip(urls, parts, checksums, strict=True):
        response = httpx.put(url, content=part, headers={"x-amz-checksum-sha256": checksum}, timeout=30)
        assert response.status_code == 200, response.text


def test_only_a_storage_clients_can_reach_offers_direct_uploads(backend: Backend) -> None:
    # Local storage has no URL of its own: its uploads always stream through the hub.
    assert isinstance(backend.storage, DirectUploads) == (backend.name == "s3")


@pytest.mark.s3
def test_direct_upload_round_trip(s3_backend: Backend) -> None:
    storage = s3_backend.storage
    assert isinstance(storage, DirectUploads)
    part_size = storage.direct_part_size(2 * 5 * MIB)
    data = _random_bytes(part_size + 1000)
    parts = [data[:part_size], data[part_size:]]
    checksums = [_b64_sha256(part) for part in parts]
    urls = storage.start_direct_upload(DIRECT_KEY, checksums, expires_s=60)
    assert not storage.exists(DIRECT_KEY)  # nothing is visible before the upload is finished
    _put_parts(urls, parts, checksums)
    storage.finish_direct_upload(DIRECT_KEY)
    assert _read_all(storage, DIRECT_KEY) == data
    storage.delete(DIRECT_KEY)


@pytest.mark.s3
def test_aborted_direct_upload_leaves_nothing(s3_backend: Backend) -> None:
    storage = s3_backend.storage
    assert isinstance(storage, DirectUploads)
    part = _random_bytes(1000)
    _put_parts(storage.start_direct_upload(DIRECT_KEY, [_b64_sha256(part)], expires_s=60), [part], [_b64_sha256(part)])
    storage.abort_direct_upload(DIRECT_KEY)
    storage.abort_direct_upload(DIRECT_KEY)  # nothing open: not an error
    assert not storage.exists(DIRECT_KEY)
    with pytest.raises(BlobNotFound):
        storage.finish_direct_upload(DIRECT_KEY)  # no upload open any more


@pytest.mark.s3
def test_finishing_a_direct_upload_with_no_part_is_not_found(s3_backend: Backend) -> None:
    storage = s3_backend.storage
    assert isinstance(storage, DirectUploads)
    storage.start_direct_upload(DIRECT_KEY, [_b64_sha256(b"never sent")], expires_s=60)
    with pytest.raises(BlobNotFound):
        storage.finish_direct_upload(DIRECT_KEY)
    storage.abort_direct_upload(DIRECT_KEY)


def test_describe_names_the_location(backend: Backend) -> None:
    description = backend.storage.describe()
    assert description.startswith("file:///" if backend.name == "local" else "s3://")


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../escape",
    "a/../../b",
    "a/..",
    "a..b",
    "a\\b",
    "a\0b",
    "a//b",
    "a/",
    "./a",
    ".tmp/x",
]
KEYED_CALLS: dict[str, Callable[[BlobStorage, str], object]] = {
    "put_bytes": lambda s, key: s.put_bytes(key, b"x"),
    "writer": lambda s, key: s.writer(key),
    "iter_range": lambda s, key: s.iter_range(key),
    "read_range": lambda s, key: s.read_range(key, 0, 1),
    "size": lambda s, key: s.size(key),
    "modified": lambda s, key: s.modified(key),
    "exists": lambda s, key: s.exists(key),
    "delete": lambda s, key: s.delete(key),
    "move-src": lambda s, key: s.move(key, KEY),
    "move-dst": lambda s, key: s.move(KEY, key),
    "presigned_get_url": lambda s, key: s.presigned_get_url(key),
}


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_by_every_method(storage: BlobStorage, key: str) -> None:
    storage.put_bytes(KEY, DATA)  # so move(KEY, bad) fails on the key, not on a missing source
    for name, call in KEYED_CALLS.items():
        with pytest.raises(ValueError):
            call(storage, key)
            pytest.fail(f"{name} accepted {key!r}")
    assert list(storage.list()) == [KEY]


@pytest.mark.parametrize("prefix", ["/", "../", "a/../", ".tmp/", "a\\"])
def test_bad_list_prefixes_are_refused(storage: BlobStorage, prefix: str) -> None:
    with pytest.raises(ValueError):
        storage.list(prefix)
