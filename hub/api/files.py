"""File download: streamed from storage (or redirected to it), with byte ranges, ETag = the content's sha256."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from hub.api.streaming import RangeHeaders, RangeRequest
from hub.deps import AnyCaller, DbSession, DownloadsDep, SettingsDep, StorageDep
from hub.registry.catalog.downloads import DownloadCounter
from hub.registry.catalog.reads import CatalogService
from hub.registry.models import Adapter, Version, VersionFile
from hub.registry.publish.filetypes import CONFIG_NAME
from hub.storage import BlobStorage, blob_key

router = APIRouter(prefix="/api", tags=["files"])
# Long enough for clock skew between hub and storage; short, since a leaked URL reads a private adapter
# until it expires. Clients use it at once: the SDK and huggingface_hub re-ask the hub on every retry.
REDIRECT_EXPIRY_S = 15 * 60
IMMUTABLE = "max-age=31536000, immutable"
# Each chunk of a streamed file costs a thread hop and an ASGI message: 4 MiB makes that ~0.1% of the time
# (1 MiB: 3-4x as many hops), while a download still holds only one chunk in memory.
STREAM_CHUNK_BYTES = 4 << 20


FILE_PATH = "/adapters/{namespace}/{name}/versions/{revision}/files/{path:path}"


# GET and HEAD are registered apart so each has its own OpenAPI operation id.
@router.head(FILE_PATH, operation_id="file_metadata", summary="A file's headers (size, sha256 ETag), no body")
@router.get(
    FILE_PATH,
    operation_id="download_file",
    summary="Download one file of a version (supports Range)",
    response_class=StreamingResponse,
)
def download_file(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
    counter: DownloadsDep,
    viewer: AnyCaller,
    namespace: str,
    name: str,
    revision: str,
    path: str,
    ranges: RangeHeaders,
) -> Response:
    catalog = CatalogService(session)
    version = catalog.resolve(catalog.adapter(namespace, name, viewer), revision)
    entry = catalog.file(version, path)
    pinned, redirect = revision == version.revision, settings.s3_redirect_downloads
    return file_response(request.method, counter, storage, version, entry, ranges, pinned=pinned, redirect=redirect)


def file_response(
    method: str,
    counter: DownloadCounter,
    storage: BlobStorage,
    version: Version,
    entry: VersionFile,
    ranges: RangeRequest,
    *,
    pinned: bool,
    redirect: bool = False,
) -> Response:
    """The answer of every download surface (this API and the Hugging Face one in hf.py), so both count,
    range and stream alike: HEAD from the database row alone, GET streamed from storage chunk by chunk,
    or, with `redirect` and a storage that presigns, a 302 to the storage itself."""
    span = ranges.span(entry.size, etag_of(entry))  # checked here too, so a bad range is 416 either way
    if method == "GET" and counts_as_download(entry, span):
        counter.count(version)  # in memory: written by the process's flusher, not in this request
    # The client repeats its Range to the storage, which would honour one the hub ignores: stream those.
    if redirect and method == "GET" and not ranges.ignored(span):
        location = storage.presigned_get_url(blob_key(entry.sha256), REDIRECT_EXPIRY_S)
        if location:  # None from local storage, which has no URL of its own: stream as usual
            return Response(status_code=302, headers=redirect_headers(version, entry, location))
    headers = file_headers(version, entry, span, pinned=pinned)
    status = 206 if span else 200
    if method == "HEAD":
        return Response(status_code=status, headers=headers)
    start, end = span or (0, entry.size)
    chunks = storage.iter_range(blob_key(entry.sha256), start, end, chunk_size=STREAM_CHUNK_BYTES)
    return StreamingResponse(chunks, status, headers=headers)


def counts_as_download(entry: VersionFile, span: tuple[int, int] | None) -> bool:
    # Like the Hugging Face Hub, one fetch of the config counts one download, whatever else is fetched.
    return entry.path == CONFIG_NAME and (span is None or span[0] == 0)


def file_headers(version: Version, entry: VersionFile, span: tuple[int, int] | None, *, pinned: bool) -> dict[str, str]:
    start, end = span or (0, entry.size)
    headers = {
        "Content-Length": str(end - start),
        "ETag": etag_of(entry),
        "Accept-Ranges": "bytes",
        "X-Repo-Commit": version.revision,
        "X-Version": f"v{version.number}",
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(entry.path.rsplit('/', 1)[-1])}",
        "Cache-Control": cache_control(version.adapter, pinned=pinned),
    }
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    return headers


def etag_of(entry: VersionFile) -> str:
    return f'"{entry.sha256}"'  # strong: the same ETag is the same bytes


def cache_control(adapter: Adapter, *, pinned: bool) -> str:
    """Who may keep a downloaded file, and how long: one rule for every download surface.

    A URL naming the revision id always gives the same bytes; "main" or "v3"-style names may move. A private
    adapter's files stay in the reader's own cache: a shared one (a proxy, a CDN) would hand them to anyone.
    """
    if adapter.private:
        return f"private, {IMMUTABLE}" if pinned else "private, no-cache"
    return f"public, {IMMUTABLE}" if pinned else "no-cache"


def redirect_headers(version: Version, entry: VersionFile, location: str) -> dict[str, str]:
    """A 302 that Hugging Face clients can read on its own: they take the size and digest from X-Linked-*
    (hf-protocol.md 3.4; without X-Linked-Size, 0.x clients cache an empty file). The client repeats its
    Range header to the storage, which honours it."""
    etag = etag_of(entry)
    return {
        "Location": location,
        "ETag": etag,
        "X-Linked-Etag": etag,
        "X-Linked-Size": str(entry.size),
        "X-Repo-Commit": version.revision,
        "X-Version": f"v{version.number}",
        # The URL's signature expires: a cached redirect would outlive it.
        "Cache-Control": "no-store",
    }
