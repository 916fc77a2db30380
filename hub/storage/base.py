"""The blob storage contract every backend meets (local folder, S3).

A key is a relative, slash-separated path such as "blobs/sha256/ab/cd/abcd...". Keys are built only
by hub/storage/keys.py; backends check them with `check_key` so a bad key can never reach the disk
or the bucket. The same cases run against every backend in tests/hub/storage/test_conformance.py.

Backends turn their own exceptions (botocore, OSError) into `BlobNotFound` / `StorageError`, so
callers never import botocore and can map "missing" to 404 and anything else to 503.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol, runtime_checkable


class StorageError(OSError):
    """Storage unreachable or misbehaving."""


class BlobNotFound(StorageError, FileNotFoundError):
    """No object at the key (a FileNotFoundError too, so `except FileNotFoundError` works)."""


class PartsRefused(StorageError):
    """Storage would not assemble the parts a client sent (too small, missing, out of order): the client's fault."""


@runtime_checkable
class BlobWriter(Protocol):
    """Streams one object to its key; nothing is visible at the key before `commit`.

    Use it as `try: write...; commit() finally: abort()`: abort after commit does nothing.
    """

    def write(self, data: bytes) -> None:
        """Append data (chunks of any size). Raises StorageError."""
        ...

    def commit(self) -> None:
        """Make the written bytes visible at the key, replacing any object there. Raises StorageError."""
        ...

    def abort(self) -> None:
        """Discard everything written. Idempotent; a no-op after commit."""
        ...


@runtime_checkable
class BlobStorage(Protocol):
    """A flat key -> bytes store with atomic writes. Every method raises StorageError on failure."""

    def writer(self, key: str) -> BlobWriter:
        """Start streaming an object to key (see BlobWriter)."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Store a small object atomically, replacing any object at key."""
        ...

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Yield bytes [start, end) in chunks of at most chunk_size; end=None means to the end.

        A range past the end of the object is cut short (possibly to nothing). BlobNotFound is
        raised by the call itself, not by the first next(), so an HTTP route can answer 404
        before it starts streaming.
        """
        ...

    def read_range(self, key: str, start: int, length: int) -> bytes:
        """Return at most length bytes from start (fewer at the end). Raises BlobNotFound."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes. Raises BlobNotFound."""
        ...

    def modified(self, key: str) -> float:
        """When the object was last written, in seconds since the epoch (gc's grace period). Raises BlobNotFound."""
        ...

    def exists(self, key: str) -> bool:
        """Whether an object is at key."""
        ...

    def move(self, src: str, dst: str) -> None:
        """Move src to dst, replacing dst (promotes a staged upload). Raises BlobNotFound for src."""
        ...

    def delete(self, key: str) -> None:
        """Delete the object at key; deleting a missing key is not an error."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys starting with prefix (a plain string prefix), sorted."""
        ...

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str | None:
        """A URL that lets anyone GET the object until it expires, or None if the backend has none."""
        ...

    def describe(self) -> str:
        """Where the objects live, for logs: "file:///path" or "s3://bucket/prefix"."""
        ...


@runtime_checkable
class DirectUploads(Protocol):
    """A storage clients can write to themselves, through presigned multipart part URLs (S3 only).

    The bytes land at a staging key; nothing is trusted until the hub has read them back (see
    hub/registry/publish/direct.py). Local storage has no such URLs: its uploads stream through the hub.
    """

    def direct_part_size(self, size: int) -> int:
        """The size of every part but the last when a client sends `size` bytes."""
        ...

    def start_direct_upload(self, key: str, part_checksums: list[str], expires_s: int) -> list[str]:
        """Open a multipart upload at key; one presigned PUT URL per part, each bound to its base64 SHA-256."""
        ...

    def finish_direct_upload(self, key: str) -> None:
        """Complete the upload at key from the parts storage holds. BlobNotFound if none is open or no part
        arrived, PartsRefused if storage will not join the parts."""
        ...

    def abort_direct_upload(self, key: str) -> None:
        """Discard every unfinished upload at key; aborting nothing is not an error."""
        ...


# ".." and dot segments are how a key escapes its root or collides with backend bookkeeping (the
# local backend's ".tmp/"), so no segment may start with a dot. Keys from keys.py never do.
_FORBIDDEN_SUBSTRINGS = ("\\", "\0", "..")


def check_key(key: str) -> str:
    """Return key if it is a safe relative key, else raise ValueError naming it."""
    if not key or key.startswith("/") or any(bad in key for bad in _FORBIDDEN_SUBSTRINGS):
        raise ValueError(f"invalid storage key {key!r}")
    if any(not segment or segment.startswith(".") for segment in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}: empty or dot segment")
    return key


def check_prefix(prefix: str) -> str:
    """Return prefix if it could start a valid key ("" and "uploads/" are fine), else raise ValueError."""
    if prefix:
        # "x" stands for the rest of a key, so a prefix ending in "/" passes the same checks.
        check_key(prefix + "x")
    return prefix


def check_range(start: int, end: int | None, chunk_size: int) -> None:
    """Raise ValueError for a range no caller should ask for."""
    if start < 0 or (end is not None and end < start) or chunk_size <= 0:
        raise ValueError(f"invalid range start={start} end={end} chunk_size={chunk_size}")
