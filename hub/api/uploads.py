"""Publish over HTTP: declare files, upload the missing blobs, commit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hub.api.render import version_detail
from hub.api.schemas import CommitIn, UploadIn
from hub.api.streaming import iter_request_body
from hub.deps import DbSession, LimitsDep, StorageDep, WriteUser
from hub.registry.publish import PublishService
from hub.registry.uploads import UploadService

router = APIRouter(prefix="/api/adapters/{namespace}/{name}/uploads", tags=["publish"])


@router.post("", status_code=201, summary="Start a publish: list files, learn which blobs to upload")
def start_upload(
    session: DbSession,
    storage: StorageDep,
    limits: LimitsDep,
    user: WriteUser,
    namespace: str,
    name: str,
    body: UploadIn,
) -> dict[str, Any]:
    upload, missing = UploadService(session, storage, limits).start(user, namespace, name, body.declared())
    base = f"/api/adapters/{namespace}/{name}/uploads/{upload.id}"
    paths = {entry["sha256"]: entry["path"] for entry in upload.files}
    return {
        "upload_id": upload.id,
        "missing": [{"sha256": sha, "path": paths[sha], "url": f"{base}/blobs/{sha}"} for sha in missing],
        "commit_url": f"{base}/commit",
    }


@router.put("/{upload_id}/blobs/{sha256}", summary="Upload one blob (streamed; hashed on the way in)")
def put_blob(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    limits: LimitsDep,
    user: WriteUser,
    namespace: str,
    name: str,
    upload_id: str,
    sha256: str,
) -> dict[str, Any]:
    uploads = UploadService(session, storage, limits)
    upload = uploads.get(upload_id, user, namespace, name)
    blob = uploads.receive_blob(upload, sha256, iter_request_body(request))
    return {"sha256": blob.sha256, "size": blob.size}


@router.post("/{upload_id}/commit", status_code=201, summary="Validate everything and create the version")
def commit_upload(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    limits: LimitsDep,
    user: WriteUser,
    namespace: str,
    name: str,
    upload_id: str,
    body: CommitIn,
) -> dict[str, Any]:
    upload = UploadService(session, storage, limits).get(upload_id, user, namespace, name)
    version = PublishService(session, storage, limits).commit(upload, user, body.metadata())
    session.refresh(version.adapter)  # load refs and tags as committed
    return version_detail(version, str(request.base_url).rstrip("/"))
