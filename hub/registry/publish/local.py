"""Publish files the server already holds (a browser form's upload, the demo catalogue) in one call.

The same three steps as the HTTP API, through the same services (declare, receive the blobs the hub lacks,
commit), so a rule added to publishing applies to every way in. The caller owns the transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO

from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller
from hub.registry.models import Version
from hub.registry.publish.commit import PublishService
from hub.registry.publish.filetypes import DeclaredFile
from hub.registry.publish.limits import Limits
from hub.registry.publish.metadata import PublishMetadata
from hub.registry.publish.uploads import UploadService
from hub.storage import BlobStorage

CHUNK = 1 << 20
LocalFile = tuple[str, BinaryIO]  # (path inside the adapter folder, a seekable stream of its bytes)


def publish_local_files(
    session: Session,
    storage: BlobStorage,
    limits: Limits,
    caller: Caller,
    target: tuple[str, str],
    files: list[LocalFile],
    meta: PublishMetadata,
    *,
    allow_unchanged: bool = False,
) -> Version:
    """Declare, receive what the hub lacks, commit; any HubError leaves the caller to roll back."""
    namespace, name = target
    declared = [DeclaredFile(path, *_digest(stream)) for path, stream in files]
    uploads = UploadService(session, storage, limits)
    upload, missing = uploads.start(caller, namespace, name, declared)
    streams = {entry.sha256: stream for entry, (_, stream) in zip(declared, files, strict=True)}
    for sha256 in missing:
        uploads.receive_blob(upload, sha256, _chunks(streams[sha256]))
    return PublishService(session, storage, limits).commit(upload, caller, meta, allow_unchanged=allow_unchanged)


def _digest(stream: BinaryIO) -> tuple[str, int]:
    hasher, size = hashlib.sha256(), 0
    for chunk in _chunks(stream):
        hasher.update(chunk)
        size += len(chunk)
    return hasher.hexdigest(), size


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    stream.seek(0)
    while chunk := stream.read(CHUNK):
        yield chunk
