"""Publish over HTTP: declare files, upload the missing blobs, commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from hub.accounts.permissions import Caller
from hub.api.render import version_detail
from hub.api.schemas import CommitIn, UploadIn
from hub.api.streaming import iter_request_body
from hub.deps import DbSession, LimitsDep, StorageDep, Writer
from hub.errors import NothingChanged
from hub.registry.models import Upload, Version
from hub.registry.publish.commit import PublishService
from hub.registry.publish.lineage import visible_lineage
from hub.registry.publish.uploads import UploadService

router = APIRouter(prefix="/api/adapters/{namespace}/{name}/uploads", tags=["publish"])


@dataclass
class Publishing:
    """The services one publish request uses, and who is publishing."""

    uploads: UploadService
    publisher: PublishService
    caller: Caller

    def upload(self, upload_id: str, namespace: str, name: str) -> Upload:
        return self.uploads.get(upload_id, self.caller, namespace, name)


def _publishing(session: DbSession, storage: StorageDep, limits: LimitsDep, caller: Writer) -> Publishing:
    return Publishing(UploadService(session, storage, limits), PublishService(session, storage, limits), caller)


PublishingDep = Annotated[Publishing, Depends(_publishing)]


@router.post("", status_code=201, summary="Start a publish: list files, learn which blobs to upload")
def start_upload(publishing: PublishingDep, namespace: str, name: str, body: UploadIn) -> dict[str, Any]:
    upload, missing = publishing.uploads.start(publishing.caller, namespace, name, body.declared())
    base = f"/api/adapters/{namespace}/{name}/uploads/{upload.id}"
    paths = {entry["sha256"]: entry["path"] for entry in upload.files}
    return {
        "upload_id": upload.id,
        "missing": [{"sha256": sha, "path": paths[sha], "url": f"{base}/blobs/{sha}"} for sha in missing],
        "commit_url": f"{base}/commit",
    }


@router.put("/{upload_id}/blobs/{sha256}", summary="Upload one blob (streamed; hashed on the way in)")
def put_blob(
    request: Request, publishing: PublishingDep, namespace: str, name: str, upload_id: str, sha256: str
) -> dict[str, Any]:
    upload = publishing.upload(upload_id, namespace, name)
    blob = publishing.uploads.receive_blob(upload, sha256, iter_request_body(request))
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
    return _version_document(request, session, publishing, version)


def _version_document(request: Request, session: DbSession, publishing: Publishing, version: Version) -> dict[str, Any]:
    session.refresh(version.adapter)  # load refs and tags as committed
    lineage = visible_lineage(session, version, publishing.caller)
    return version_detail(version, str(request.base_url).rstrip("/"), lineage=lineage)
