"""The first half of publish: declare files, learn which blobs the hub lacks, stream those in.

Order, after the OCI registry's blob upload: stream to a staging key while hashing and counting,
compare the digest, then move to the content-addressed key and record the Blob row. A failure at
any step aborts the staged object; a blob that made it in but was never committed is the
garbage collector's job (hub gc), never a correctness problem, since readers only reach blobs
through committed versions.

A digest is not a capability: a declared blob is reused without its bytes only when the uploader can
already read a live version holding it. Any other blob must be sent in this upload (its UploadBlob row
records that), or the commit refuses it, so guessing a private file's sha256 neither confirms nor copies it.

Receiving is split so a request holds no database connection while a body trickles in: `get` and
`incoming` in one short transaction, `IncomingBlob` streaming with no session, `record` in another.
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
from hub.registry.models import Adapter, Blob, Upload, UploadBlob, Version, VersionFile
from hub.registry.publish.filetypes import DeclaredFile, check_declared_files
from hub.registry.publish.limits import Limits
from hub.registry.publish.validation import check_file
from hub.registry.visibility import visible_to
from hub.storage import BlobStorage, BlobWriter, blob_key, staging_key


class UploadService:
    def __init__(self, session: Session, storage: BlobStorage, limits: Limits) -> None:
        self.session = session
        self.storage = storage
        self.limits = limits

    def start(self, caller: Caller, namespace: str, name: str, files: list[DeclaredFile]) -> tuple[Upload, list[str]]:
        """Open an upload session; returns it and the sha256 of every declared blob the client must send."""
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
        return upload, self.missing_blobs(caller, {declared.sha256 for declared in files})

    def _writable_namespace(self, caller: Caller, namespace: str) -> Namespace:
        user = caller.require_scope("write", "publish")
        target = AccountService(self.session).find_namespace(namespace)
        if target is None and not user.is_admin:
            raise Forbidden(f"{user.name!r} may not publish into {namespace[:100]!r}: it is not their namespace.")
        if target is None:
            raise NamespaceNotFound(f"No user or organisation is called {namespace[:100]!r}.")
        self._require_publisher(caller, target)
        return target

    def _require_publisher(self, caller: Caller, target: Namespace) -> None:
        """The publish right, asked at start and again at every PUT and commit: a role can be lost meanwhile."""
        caller.require_role(target, Role.WRITE, "publish")

    def missing_blobs(self, caller: Caller, digests: set[str]) -> list[str]:
        """Blobs to send: all but those `user` can already read and storage still holds (so a publish repairs
        lost bytes). Whether the hub has a blob `user` cannot read stays unsaid: it is listed like an unknown one."""
        reusable = readable_blobs(self.session, caller, digests)
        kept = {sha256 for sha256 in reusable if self.storage.exists(blob_key(sha256))}
        return sorted(digests - kept)

    def get(self, upload_id: str, caller: Caller, namespace: str, name: str) -> Upload:
        """The caller's open upload, reached only through its own namespace and name, while they may still publish."""
        user = caller.require_scope("write", "publish")
        upload = self.session.get(Upload, upload_id) if len(upload_id) == 32 else None
        target = self.session.get(Namespace, upload.namespace_id) if upload is not None else None
        if (
            upload is None
            or target is None
            or upload.user_id != user.id
            or not _addresses(upload, target, namespace, name)
        ):
            raise UploadNotFound(f"No upload {upload_id[:40]!r} for {namespace[:100]}/{name[:100]} belongs to you.")
        if upload.committed_version_id is not None:
            raise UploadClosed(f"The upload {upload_id} was already committed; start a new one.")
        self._require_publisher(caller, target)
        return upload

    def receive_blob(self, upload: Upload, sha256: str, chunks: Iterable[bytes]) -> Blob:
        """Stream one declared blob into storage; returns its Blob row (existing or new)."""
        incoming = self.incoming(upload, sha256)
        incoming.receive(chunks)
        return self.record(upload, incoming)

    def incoming(self, upload: Upload, sha256: str) -> IncomingBlob:
        """The receiver for one declared blob's bytes; it needs no database, so the caller may end its transaction."""
        return IncomingBlob(self.storage, self.limits, upload.id, declared_entries(upload, sha256))

    def record(self, upload: Upload, incoming: IncomingBlob | DeclaredFile) -> Blob:
        """After `incoming` finished (or a direct upload was verified): the Blob row, and the note that this upload
        sent the bytes."""
        declared = incoming.declared if isinstance(incoming, IncomingBlob) else incoming
        blob = self._record_blob(declared.sha256, declared.size)
        self._mark_received(upload.id, blob.sha256)
        return blob

    def _record_blob(self, sha256: str, size: int) -> Blob:
        found = self.session.get(Blob, sha256)
        if found is not None:
            return found  # the bytes were known: this upload proved it has them, which `_mark_received` notes
        blob = Blob(sha256=sha256, size=size)
        try:
            with self.session.begin_nested():  # a concurrent upload of the same bytes may insert first
                self.session.add(blob)
        except IntegrityError:
            found = self.session.get(Blob, sha256)
            assert found is not None  # the row that won the race
            return found
        return blob

    def _mark_received(self, upload_id: str, sha256: str) -> None:
        if self.session.get(UploadBlob, (upload_id, sha256)) is not None:
            return  # the same blob sent twice
        try:
            with self.session.begin_nested():
                self.session.add(UploadBlob(upload_id=upload_id, sha256=sha256))
        except IntegrityError:
            pass  # a concurrent PUT of the same blob to this upload noted it first


class IncomingBlob:
    """One declared blob's bytes on their way in: counted, hashed, buffered into its staging key, then checked
    and promoted to its content key. It touches no database (see the module docstring)."""

    def __init__(self, storage: BlobStorage, limits: Limits, upload_id: str, entries: list[DeclaredFile]) -> None:
        self.storage = storage
        self.limits = limits
        self.entries = entries  # one per declared path with this digest; each must pass its own checks
        self.declared = entries[0]
        self.staged = staging_key(upload_id, self.declared.sha256)
        self._writer: BlobWriter | None = None  # opened with the first bytes: an unused receiver leaves nothing
        self._hasher = hashlib.sha256()
        self._received = 0
        self._buffer = bytearray()

    def receive(self, chunks: Iterable[bytes]) -> None:
        """The whole body at once, for callers that hold it (the web form, the demo)."""
        try:
            for chunk in chunks:
                self.write(chunk)
            self.finish()
        except BaseException:
            self.abort()
            raise

    def write(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.declared.size:
            raise SizeMismatch(f"{self.declared.path!r}: more bytes arrived than the declared {self.declared.size}.")
        self._hasher.update(chunk)
        self._buffer += chunk
        if len(self._buffer) >= self.limits.upload_chunk_bytes:
            self._flush()

    def finish(self) -> None:
        """The body is complete: check count and digest, then the file on its own, then move it to its content key."""
        self._flush()
        self._check_complete()
        self._opened().commit()
        for declared in self.entries:  # malformed bytes never reach the content store
            check_file(self.storage, self.staged, declared, self.limits)
        self._promote()

    def abort(self) -> None:
        """Leave nothing behind: the unfinished write, or the staged object whose file check failed."""
        if self._writer is not None:
            self._writer.abort()
            self.storage.delete(self.staged)

    def _flush(self) -> None:
        if self._buffer:
            self._opened().write(bytes(self._buffer))
            self._buffer.clear()

    def _opened(self) -> BlobWriter:
        if self._writer is None:
            self._writer = self.storage.writer(self.staged)
        return self._writer

    def _check_complete(self) -> None:
        check_arrived(self.declared, self._received, self._hasher.hexdigest())

    def _promote(self) -> None:
        promote(self.storage, self.staged, self.declared.sha256)


def check_arrived(declared: DeclaredFile, received: int, digest: str) -> None:
    """SizeMismatch or DigestMismatch unless what arrived is exactly the declared file's bytes."""
    if received != declared.size:
        raise SizeMismatch(f"{declared.path!r}: {received} bytes arrived, {declared.size} were declared.")
    if not hmac.compare_digest(digest, declared.sha256):
        raise DigestMismatch(f"{declared.path!r}: the bytes hash to {digest}, not the declared {declared.sha256}.")


def promote(storage: BlobStorage, staged: str, sha256: str) -> None:
    """Move verified bytes from their staging key to their content key."""
    # The key is the content's hash, so an object already there holds these very bytes.
    if storage.exists(blob_key(sha256)):
        storage.delete(staged)
    else:
        storage.move(staged, blob_key(sha256))


def usable_blobs(session: Session, upload: Upload, caller: Caller) -> set[str]:
    """The declared blobs a commit of `upload` may use: those it sent, and those `caller` can read right now."""
    declared = {entry["sha256"] for entry in upload.files}
    received = set(session.scalars(select(UploadBlob.sha256).where(UploadBlob.upload_id == upload.id)))
    return received | readable_blobs(session, caller, declared - received)


def readable_blobs(session: Session, caller: Caller, digests: set[str]) -> set[str]:
    """The digests that a live version `caller` may download holds: `caller` has those bytes already."""
    if not digests:
        return set()
    query = (
        select(VersionFile.sha256)
        .join(Version, Version.id == VersionFile.version_id)
        .join(Adapter, Adapter.id == Version.adapter_id)
        .where(VersionFile.sha256.in_(digests), Version.is_live, Adapter.is_live)
        .where(visible_to(caller))
        .distinct()
    )
    return set(session.scalars(query))


def _addresses(upload: Upload, target: Namespace, namespace: str, name: str) -> bool:
    """Whether the URL's namespace and adapter name are the upload's own (names compare case-insensitively)."""
    return target.key == namespace.lower() and upload.adapter_name.lower() == name.lower()


def declared_entries(upload: Upload, sha256: str) -> list[DeclaredFile]:
    """The upload's declared files with this digest (one per path); BlobMissing if there is none."""
    entries = [DeclaredFile(**entry) for entry in upload.files if entry["sha256"] == sha256]
    if entries:
        return entries
    raise BlobMissing(f"The blob {sha256[:64]!r} is not one of the files declared by upload {upload.id}.")
