"""Blobs the client sends straight to S3 through presigned multipart part URLs, verified by the hub before any
version can name them.

Order: `DirectBlob.open` starts one multipart upload at a fresh staging key (keys.direct_staging_key: one key per
attempt, so a second attempt can never change the bytes of one being verified) and presigns one PUT URL per part,
each with the part's SHA-256 bound into its signature. The client PUTs the parts, in parallel, then asks the hub to
finish: the hub completes the upload from the parts storage lists (not from what the client says), reads the
object back while hashing it, and only if the size and the digest are the declared ones runs the same file checks
and promotion to the content key as a streamed upload (uploads.py). Any failure deletes the staged object and
aborts what is still open, and no Blob or UploadBlob row is written: a commit can never name those bytes.

Why the hub reads the bytes back instead of trusting S3's checksums: a multipart upload's SHA-256 is a checksum
of the part checksums, which says nothing about the SHA-256 of the whole object that names the blob, and some
stores (moto) accept a part whatever its checksum header says. The per-part checksums still make AWS S3 and
MinIO refuse a corrupted part at once, before the hub reads anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from typing import Protocol, cast

from hub.errors import BlobMissing, InvalidRequest
from hub.registry.publish.filetypes import DeclaredFile
from hub.registry.publish.limits import Limits
from hub.registry.publish.uploads import check_arrived, promote
from hub.registry.publish.validation import ReadAhead, check_file
from hub.storage import BlobNotFound, BlobStorage, DirectUploads, PartsRefused, direct_staging_key

# Long enough for a slow link to send a few GB; a leaked URL only writes to a staging key nobody reads unverified.
PART_URL_EXPIRY_S = 3600
VERIFY_CHUNK_BYTES = 8 << 20  # the read-back's reads: few enough that Python's per-chunk work stays negligible


class DirectStorage(BlobStorage, DirectUploads, Protocol):
    """A blob storage that clients can also write to themselves (S3)."""


def direct_storage(storage: BlobStorage) -> DirectStorage | None:
    """The storage, if clients can upload to it directly."""
    return storage if isinstance(storage, DirectUploads) else None  # type: ignore[return-value]


def direct_part_size(storage: BlobStorage, size: int) -> int | None:
    """The part size a client sending `size` bytes straight to storage uses, or None: stream it through the hub.

    Below one part, one PUT to the hub costs fewer round trips than presigning, sending and finishing.
    """
    direct = direct_storage(storage)
    if direct is None:
        return None
    part_size = direct.direct_part_size(size)
    return part_size if size >= part_size else None


class DirectBlob:
    """One attempt at sending one declared blob straight to storage. It touches no database."""

    def __init__(
        self, storage: DirectStorage, limits: Limits, upload_id: str, entries: list[DeclaredFile], attempt: str
    ) -> None:
        self.storage = storage
        self.limits = limits
        self.entries = entries  # one per declared path with this digest; each must pass its own checks
        self.declared = entries[0]
        self.attempt = attempt
        try:
            self.staged = direct_staging_key(upload_id, self.declared.sha256, attempt)
        except ValueError:
            raise BlobMissing(f"No direct upload {attempt[:40]!r} of {self.declared.path!r} was started.") from None

    @classmethod
    def start(
        cls, storage: BlobStorage, limits: Limits, upload_id: str, entries: list[DeclaredFile], checksums: list[str]
    ) -> tuple[DirectBlob, list[str]]:
        """A new attempt and its presigned part URLs, one per checksum (base64 SHA-256 of each part, in order)."""
        declared = entries[0]
        part_size = direct_part_size(storage, declared.size)
        direct = direct_storage(storage)
        if part_size is None or direct is None:
            raise InvalidRequest(
                f"{declared.path!r} goes through the hub (PUT to its blob URL), not straight to storage."
            )
        _check_checksums(declared, checksums, part_size)
        blob = cls(direct, limits, upload_id, entries, secrets.token_hex(8))
        return blob, direct.start_direct_upload(blob.staged, checksums, PART_URL_EXPIRY_S)

    def finish(self) -> None:
        """Complete the upload, verify every byte, check the file, promote it; on any failure leave nothing."""
        try:
            self._complete()
            head = ReadAhead(self.storage, self.staged, self._verify())
            for declared in self.entries:  # malformed bytes never reach the content store
                check_file(cast(BlobStorage, head), self.staged, declared, self.limits)
            promote(self.storage, self.staged, self.declared.sha256)
        except BaseException:
            self.storage.abort_direct_upload(self.staged)
            self.storage.delete(self.staged)
            raise

    def _complete(self) -> None:
        try:
            self.storage.finish_direct_upload(self.staged)
        except BlobNotFound:
            raise BlobMissing(
                f"No direct upload {self.attempt!r} of {self.declared.path!r} is open with parts in it: start one, "
                "send its parts, then finish it once."
            ) from None
        except PartsRefused:
            raise InvalidRequest(
                f"Storage would not join the parts sent for {self.declared.path!r}: every part but the last must be "
                "exactly the part size, numbered from 1."
            ) from None

    def _verify(self) -> bytes:
        """Read the object back: its size first (a HEAD), then every byte through SHA-256. Returns the first chunk."""
        size = self.storage.size(self.staged)
        if size != self.declared.size:
            check_arrived(self.declared, size, "")  # raises SizeMismatch without reading a byte
        digest, head = hashlib.sha256(), b""
        for chunk in self.storage.iter_range(self.staged, chunk_size=VERIFY_CHUNK_BYTES):
            digest.update(chunk)
            head = head or chunk
        check_arrived(self.declared, size, digest.hexdigest())
        return head


def _check_checksums(declared: DeclaredFile, checksums: list[str], part_size: int) -> None:
    parts = -(-declared.size // part_size)
    if len(checksums) != parts:
        raise InvalidRequest(
            f"{declared.path!r} of {declared.size} bytes is {parts} parts of {part_size} bytes; "
            f"{len(checksums)} part checksums were sent."
        )
    for number, checksum in enumerate(checksums, start=1):
        if not _is_sha256_base64(checksum):
            raise InvalidRequest(f"Part {number} of {declared.path!r}: {checksum[:60]!r} is not a base64 SHA-256.")


def _is_sha256_base64(text: str) -> bool:
    try:
        return len(text) == 44 and len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False
