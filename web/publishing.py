"""Publishing from a browser form: the uploaded files go through the same UploadService and PublishService
as the HTTP API's three steps (declare, upload the missing blobs, commit), in one request."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import UploadFile
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.registry.filetypes import DeclaredFile
from hub.registry.limits import Limits
from hub.registry.metadata import PublishMetadata
from hub.registry.models import Version
from hub.registry.publish import PublishService
from hub.registry.uploads import UploadService
from hub.storage import BlobStorage

CHUNK = 1 << 20
FolderFile = tuple[str, BinaryIO]


def folder_files(uploads: list[UploadFile]) -> list[FolderFile]:
    """(path inside the adapter folder, bytes) for each chosen file.

    Choosing the folder itself sends names like 'my-adapter/adapter_config.json'; that top folder is
    dropped. Hidden files ('.DS_Store', '.gitattributes') are skipped: they are never part of an adapter.
    """
    chosen = [(upload.filename.replace("\\", "/"), upload.file) for upload in uploads if upload.filename]
    tops = {path.split("/", 1)[0] for path, _ in chosen}
    if chosen and len(tops) == 1 and all("/" in path for path, _ in chosen):
        chosen = [(path.split("/", 1)[1], stream) for path, stream in chosen]
    return [(path, stream) for path, stream in chosen if not any(p.startswith(".") for p in path.split("/"))]


def publish_folder(
    session: Session,
    storage: BlobStorage,
    limits: Limits,
    user: User,
    target: tuple[str, str],
    files: list[FolderFile],
    meta: PublishMetadata,
    *,
    allow_unchanged: bool = False,
) -> Version:
    """Declare, upload what the hub lacks, commit; any HubError leaves the caller to roll back."""
    namespace, name = target
    declared = [DeclaredFile(path, *_digest(stream)) for path, stream in files]
    uploads = UploadService(session, storage, limits)
    upload, missing = uploads.start(user, namespace, name, declared)
    streams = {entry.sha256: stream for entry, (_, stream) in zip(declared, files, strict=True)}
    for sha256 in missing:
        uploads.receive_blob(upload, sha256, _chunks(streams[sha256]))
    return PublishService(session, storage, limits).commit(upload, user, meta, allow_unchanged=allow_unchanged)


def metadata_from_form(form: dict[str, str]) -> PublishMetadata:
    """Blank fields are left to adapter_config.json (base model, task) or to nothing."""
    tags = [tag for tag in form.get("tags", "").replace(",", " ").split() if tag]
    return PublishMetadata(
        base_model=form.get("base_model") or None,
        base_model_type=form.get("base_model_type") or None,
        task=form.get("task") or None,
        license=form.get("license") or None,
        tags=tags,
        description=form.get("description") or None,
        private=True if form.get("private") else None,  # unticked keeps an existing adapter's visibility
    )


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
