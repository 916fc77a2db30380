"""Publish over HTTP: declare files, upload the missing blobs, commit."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from hub.accounts.models import User
from hub.accounts.permissions import Caller
from hub.api.render import version_detail
from hub.api.schemas import CommitIn, DirectPartsIn, UploadIn
from hub.api.streaming import stream_request_body
from hub.deps import DbSession, LimitsDep, SettingsDep, StorageDep, Writer
from hub.errors import BlobMissing, InvalidRequest, NothingChanged, TooManyRequests
from hub.registry.evaluations.store import evaluations_of
from hub.registry.models import Upload, Version
from hub.registry.publish.commit import PublishService
from hub.registry.publish.direct import DirectBlob, direct_part_size, direct_storage
from hub.registry.publish.lineage import visible_lineage
from hub.registry.publish.uploads import IncomingBlob, UploadService, declared_entries

router = APIRouter(prefix="/api/adapters/{namespace}/{name}/uploads", tags=["publish"])

# A slot frees when an upload ends, which may take any time; a few seconds is a fair first wait.
SLOT_RETRY_AFTER_S = 5


class UploadSlots:
    """How many blob PUTs each user is streaming, and the limit; over it, 429 at once.

    In process memory, like the failed-auth limiter: with several replicas or workers a user may stream
    up to (processes x limit) blobs at once. It bounds the sockets, buffers and staged objects one user holds.
    """

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._held: Counter[int] = Counter()
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, user: User) -> Iterator[None]:
        self._take(user)
        try:
            yield
        finally:
            with self._lock:
                self._held[user.id] -= 1

    def in_use(self) -> int:
        with self._lock:
            return sum(self._held.values())

    def _take(self, user: User) -> None:
        with self._lock:
            if self._held[user.id] >= self.per_user:
                raise TooManyRequests(
                    f"{user.name!r} already has {self.per_user} blob uploads in progress, the most allowed at once; "
                    f"retry in {SLOT_RETRY_AFTER_S} s or when one has finished.",
                    retry_after=SLOT_RETRY_AFTER_S,
                )
            self._held[user.id] += 1


@dataclass
class Publishing:
    """The services one publish request uses, and who is publishing."""

    uploads: UploadService
    publisher: PublishService
    caller: Caller

    @property
    def user(self) -> User:
        return self.caller.require_scope("write", "publish")

    def upload(self, upload_id: str, namespace: str, name: str) -> Upload:
        return self.uploads.get(upload_id, self.caller, namespace, name)

    def open_blob(self, upload_id: str, namespace: str, name: str, sha256: str) -> tuple[Upload, IncomingBlob]:
        """Check the upload and the caller's role, then end the transaction: the connection goes back to the
        pool before any byte of the body is read (a slow client must not hold one)."""
        upload = self.upload(upload_id, namespace, name)
        incoming = self.uploads.incoming(upload, sha256)
        self.uploads.session.commit()
        return upload, incoming

    def start_direct(
        self, upload_id: str, namespace: str, name: str, sha256: str, checksums: list[str], *, allowed: bool
    ) -> tuple[DirectBlob, list[str]]:
        upload = self.upload(upload_id, namespace, name)
        if not allowed:  # clients cannot reach this hub's storage (HUB_S3_DIRECT_UPLOADS is off)
            raise InvalidRequest("This hub takes uploads through itself: PUT the blob to its URL.")
        uploads = self.uploads
        return DirectBlob.start(uploads.storage, uploads.limits, upload.id, declared_entries(upload, sha256), checksums)

    def open_direct(
        self, upload_id: str, namespace: str, name: str, sha256: str, attempt: str
    ) -> tuple[Upload, DirectBlob]:
        """As open_blob: the transaction ends before the bytes are read back from storage."""
        upload = self.upload(upload_id, namespace, name)
        direct = direct_storage(self.uploads.storage)
        if direct is None:
            raise BlobMissing(f"No direct upload {attempt[:40]!r} was started: this hub's storage takes none.")
        blob = DirectBlob(direct, self.uploads.limits, upload.id, declared_entries(upload, sha256), attempt)
        self.uploads.session.commit()
        return upload, blob


def _publishing(session: DbSession, storage: StorageDep, limits: LimitsDep, caller: Writer) -> Publishing:
    return Publishing(UploadService(session, storage, limits), PublishService(session, storage, limits), caller)


def _upload_slots(request: Request) -> UploadSlots:
    return request.app.state.upload_slots


PublishingDep = Annotated[Publishing, Depends(_publishing)]
UploadSlotsDep = Annotated[UploadSlots, Depends(_upload_slots)]


@router.post("", status_code=201, summary="Start a publish: list files, learn which blobs to upload")
def start_upload(
    publishing: PublishingDep, settings: SettingsDep, namespace: str, name: str, body: UploadIn
) -> dict[str, Any]:
    upload, missing = publishing.uploads.start(publishing.caller, namespace, name, body.declared())
    base = f"/api/adapters/{namespace}/{name}/uploads/{upload.id}"
    files = {entry["sha256"]: entry for entry in upload.files}
    storage = publishing.uploads.storage if settings.s3_direct_uploads else None
    return {
        "upload_id": upload.id,
        "missing": [_missing_blob(base, files[sha], storage) for sha in missing],
        "commit_url": f"{base}/commit",
    }


def _missing_blob(base: str, entry: dict[str, Any], storage: Any) -> dict[str, Any]:
    """Where to send one blob: always its PUT URL on the hub; for a large one on S3 also a straight way to storage."""
    url = f"{base}/blobs/{entry['sha256']}"
    answer = {"sha256": entry["sha256"], "path": entry["path"], "url": url}
    part_size = direct_part_size(storage, entry["size"]) if storage is not None else None
    if part_size is not None:
        answer["direct"] = {"parts_url": f"{url}/parts", "part_size": part_size}
    return answer


@router.post(
    "/{upload_id}/blobs/{sha256}/parts",
    status_code=201,
    summary="Send a large blob straight to storage: presigned part URLs, each bound to its part's SHA-256",
)
def start_direct_blob(
    publishing: PublishingDep,
    settings: SettingsDep,
    namespace: str,
    name: str,
    upload_id: str,
    sha256: str,
    body: DirectPartsIn,
) -> dict[str, Any]:
    allowed = bool(settings.s3_direct_uploads)
    blob, urls = publishing.start_direct(upload_id, namespace, name, sha256, body.checksums, allowed=allowed)
    base = f"/api/adapters/{namespace}/{name}/uploads/{upload_id}/blobs/{sha256}/parts/{blob.attempt}"
    parts = [
        {"number": number, "url": url, "headers": {"x-amz-checksum-sha256": checksum}}
        for number, (url, checksum) in enumerate(zip(urls, body.checksums, strict=True), start=1)
    ]
    return {"parts": parts, "complete_url": f"{base}/complete"}


@router.post(
    "/{upload_id}/blobs/{sha256}/parts/{attempt}/complete",
    summary="Finish a direct upload: the hub reads the bytes back and checks them before any version may name them",
)
def complete_direct_blob(
    publishing: PublishingDep,
    slots: UploadSlotsDep,
    namespace: str,
    name: str,
    upload_id: str,
    sha256: str,
    attempt: str,
) -> dict[str, Any]:
    with slots.hold(publishing.user):  # reading back holds a thread and storage bandwidth like a streamed PUT
        upload, blob = publishing.open_direct(upload_id, namespace, name, sha256, attempt)
        blob.finish()
    recorded = publishing.uploads.record(upload, blob.declared)
    return {"sha256": recorded.sha256, "size": recorded.size}


@router.put("/{upload_id}/blobs/{sha256}", summary="Upload one blob (streamed; hashed on the way in)")
async def put_blob(
    request: Request,
    publishing: PublishingDep,
    slots: UploadSlotsDep,
    namespace: str,
    name: str,
    upload_id: str,
    sha256: str,
) -> dict[str, Any]:
    # Async, so a trickling body holds no worker thread; the database is touched in two short transactions.
    with slots.hold(publishing.user):
        upload, incoming = await run_in_threadpool(publishing.open_blob, upload_id, namespace, name, sha256)
        await stream_request_body(request, incoming)
    blob = await run_in_threadpool(publishing.uploads.record, upload, incoming)
    return {"sha256": blob.sha256, "size": blob.size}


@router.post("/{upload_id}/commit", status_code=201, summary="Validate everything and create the version")
def commit_upload(
    request: Request,
    session: DbSession,
    publishing: PublishingDep,
    namespace: str,
    name: str,
    upload_id: str,
    body: CommitIn,
    response: Response,
) -> dict[str, Any]:
    upload = publishing.upload(upload_id, namespace, name)
    try:
        version = publishing.publisher.commit(
            upload, publishing.caller, body.metadata(), allow_unchanged=body.allow_unchanged
        )
    except NothingChanged as same:  # not an error for a client: the version it wanted exists (200, not 201)
        response.status_code = 200
        assert isinstance(same.version, Version)
        return _version_document(request, session, publishing, same.version) | {
            "unchanged": True,
            "message": same.message,
        }
    # Evaluation results the hub could not read never refuse a publish; the answer says which were ignored.
    return _version_document(request, session, publishing, version) | {"warnings": publishing.publisher.warnings}


def _version_document(request: Request, session: DbSession, publishing: Publishing, version: Version) -> dict[str, Any]:
    session.refresh(version.adapter)  # load refs and tags as committed
    lineage = visible_lineage(session, version, publishing.caller)
    evaluations = evaluations_of(session, version)
    return version_detail(version, str(request.base_url).rstrip("/"), lineage=lineage, evaluations=evaluations)
