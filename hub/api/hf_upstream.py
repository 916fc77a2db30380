"""The Hugging Face answers for repositories of the upstream (HUB_UPSTREAM_URL): the same headers as the hub's
own (hf.py), built from what the upstream announced; the bytes come from hub/upstream (cache or upstream).

Only for namespaces this hub does not have (hub/registry/visibility.py `answered_here`), and never with anything
of the caller's request but the repository, revision, path and Range.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from hub.api.files import IMMUTABLE
from hub.api.streaming import RangeRequest
from hub.registry.visibility import answered_here
from hub.upstream import Absent, RemoteFile, Upstream
from hub.upstream.client import EntryAbsent


def upstream_of(request: Request, session: Session, namespace: str) -> Upstream | None:
    """The upstream that answers for `namespace`, or None: none is configured, or the namespace is this hub's."""
    upstream: Upstream | None = request.app.state.upstream
    return None if upstream is None or answered_here(session, namespace) else upstream


def upstream_file(
    method: str, upstream: Upstream, repo_id: str, rest: tuple[str, str], ranges: RangeRequest
) -> Response:
    revision, path = rest
    found = upstream.locate(repo_id, revision, path)
    if isinstance(found, Absent):
        raise EntryAbsent(found.commit, found.message)
    span = ranges.span(found.size, found.etag)
    headers = _headers(found, path, span, pinned=revision == found.commit)
    status = 206 if span else 200
    if method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(upstream.body(repo_id, path, found, span), status, headers=headers)


def _headers(found: RemoteFile, path: str, span: tuple[int, int] | None, *, pinned: bool) -> dict[str, str]:
    start, end = span or (0, found.size)
    headers = {
        "Content-Length": str(end - start),
        "ETag": found.etag,
        "Accept-Ranges": "bytes",
        "X-Repo-Commit": found.commit,
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(path.rsplit('/', 1)[-1])}",
        "Cache-Control": f"public, {IMMUTABLE}" if pinned else "no-cache",
    }
    if span:
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{found.size}"
    return headers
