"""The first half of publish: declare files, learn which blobs the hub lacks, stream those in.

Order, after the OCI registry's blob upload: stream to a staging key while hashing and counting,
compare the digest, then move to the content-addressed key and record the Blob row. A failure at
any step aborts the staged object; a blob that made it in but was never committed is the
garbage collector's job (hub gc), never a correctness problem, since readers only reach blobs
through committed versions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller, Role
from hub.accounts.service import AccountService
from hub.errors import (
    BlobMissing,
    DigestMismatch,
    Forbidden,
    NamespaceNotFound,
    SizeMismatch,
    UploadClosed,
    UploadNotFound,
)
from hub.naming import check_name
from hub.registry.models import Blob, Upload
from hub.registry.publish.filetypes import DeclaredFile, check_declared_files
from hub.registry.publish.limits import Limits
from hub.registry.publish.validation import check_file
from hub.storage import BlobStorage, BlobWriter, blob_key, staging_key


class UploadService:
    def __init__(self, session: Session, storage: BlobStorage, limits: Limits) -> None:
        self.session = session
        self.storage = storage
        self.limits = limits

    def start(self, caller: Caller, namespace: str, name: str, files: list[DeclaredFile]) -> tuple[Upload, list[str]]:
        """Open an upload session; returns it and the sha256 of every declared blob the hub lacks."""
        target = self._writable_namespace(caller, namespace)
        user = caller.require_scope("write", "publish")
        check_name(name, "adapter name")
        check_declared_files(files, self.limits)
        upload = Upload(
            id=secrets.token_hex(16),
            namespace_id=target.id,
            adapter_name=name,
            user_id=user.id,
            files=[declared.as_json() for declared in files],
        )
        self.session.add(upload)
        return upload, self.missing_blobs({declared.sha256 for declared in files})

    def _writable_namespace(self, caller: Caller, namespace: str) -> Namespace:
        user = caller.require_scope("write", "publish")
        target = AccountService(self.session).find_namespace(namespace)
        if target is None and not user.is_admin:
            raise Forbidden(f"{user.name!r} may not publish into {namespace[:100]!r}: it is not their namespace.")
        if target is None:
            raise NamespaceNotFound(f"No user or organisation is called {namespace[:100]!r}.")
        caller.require_role(target, Role.WRITE, "publish")
        return target

    def missing_blobs(self, digests: set[str]) -> list[str]:
        """Blobs to upload: unknown ones, and known ones whose bytes storage lost (so a publish repairs them)."""
        present = set(self.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(digests))))
        lost = {sha256 for sha256 in present if not self.storage.exists(blob_key(sha256))}
        return sorted((digests - present) | lost)

    def get(self, upload_id: str, caller: Caller, namespace: str, name: str) -> Upload:
        user = caller.require_scope("write", "publish")
        upload = self.session.get(Upload, upload_id) if len(upload_id) == 32 else None
        if upload is None or upload.user_id != user.id or upload.adapter_name.lower() != name.lower():
            raise UploadNotFound(f"No upload {upload_id[:40]!r} for {namespace[:100]}/{name[:100]} belongs to you.")
        if upload.committed_version_id is not None:
            raise UploadClosed(f"The upload {upload_id} was already committed; start a new one.")
        return upload

    def receive_blob(self, upload: Upload, sha256: str, chunks: Iterable[bytes]) -> Blob:
        """Stream one declared blob into storage; returns its Blob row (existing or new)."""
        entries = _declared_entries(upload, sha256)
        existing = self.session.get(Blob, sha256)
        if existing is not None and self.storage.exists(blob_key(sha256)):
            return existing  # already stored by an earlier publish: nothing to write
        staged = staging_key(upload.id, sha256)
        self._write_staged(staged, entries[0], chunks)
        try:
            for declared in entries:  # malformed bytes never reach the content store
                check_file(self.storage, staged, declared, self.limits)
        except BaseException:
            self.storage.delete(staged)
            raise
        self._promote(staged, sha256)
        return self._record_blob(sha256, entries[0].size)

    def _write_staged(self, staged: str, declared: DeclaredFile, chunks: Iterable[bytes]) -> None:
        writer = self.storage.writer(staged)
        try:
            self._stream(writer, declared, chunks)
            writer.commit()
        except BaseException:
            writer.abort()
            raise

    def _stream(self, writer: BlobWriter, declared: DeclaredFile, chunks: Iterable[bytes]) -> None:
        hasher, received, buffer = hashlib.sha256(), 0, bytearray()
        for chunk in chunks:
            received += len(chunk)
            if received > declared.size:
                raise SizeMismatch(f"{declared.path!r}: more bytes arrived than the declared {declared.size}.")
            hasher.update(chunk)
            buffer += chunk
            if len(buffer) >= self.limits.upload_chunk_bytes:
                writer.write(bytes(buffer))
                buffer.clear()
        if buffer:
            writer.write(bytes(buffer))
        if received != declared.size:
            raise SizeMismatch(f"{declared.path!r}: {received} bytes arrived, {declared.size} were declared.")
        if not hmac.compare_digest(hasher.hexdigest(), declared.sha256):
            raise DigestMismatch(
                f"{declared.path!r}: the bytes hash to {hasher.hexdigest()}, not the declared {declared.sha256}."
            )

    def _promote(self, staged: str, sha256: str) -> None:
        # The key is the content's hash, so an object already there holds these very bytes.
        if self.storage.exists(blob_key(sha256)):
            self.storage.delete(staged)
        else:
            self.storage.move(staged, blob_key(sha256))

    def _record_blob(self, sha256: str, size: int) -> Blob:
        blob = Blob(sha256=sha256, size=size)
        try:
            with self.session.begin_nested():  # a concurrent upload of the same bytes may insert first
                self.session.add(blob)
        except IntegrityError:
            found = self.session.get(Blob, sha256)
            assert found is not None  # the row that won the race
            return found
        return blob


def _declared_entries(upload: Upload, sha256: str) -> list[DeclaredFile]:
    entries = [DeclaredFile(**entry) for entry in upload.files if entry["sha256"] == sha256]
    if entries:
        return entries
    raise BlobMissing(f"The blob {sha256[:64]!r} is not one of the files declared by upload {upload.id}.")
