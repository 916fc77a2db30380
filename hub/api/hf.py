"""The Hugging Face Hub download surface, so `HF_ENDPOINT=<this hub>` makes huggingface_hub, peft and
transformers pull adapters unchanged. The contract, with the pitfalls that break real client versions:
docs/huggingface.md.

- resolve (HEAD, GET + Range, If-Range): the same response as the native download route (files.file_response),
  so it streams (or redirects to storage), ranges and counts downloads the same way;
- model info, model info at a revision, tree (with Link pagination);
- a few routes the clients probe that this hub does not serve, answered 404 on purpose;
- with HUB_UPSTREAM_URL, the same routes for repositories of namespaces this hub does not have, answered from
  the upstream and its cache (hf_upstream.py, hub/upstream).

Errors use Hugging Face's codes (RepoNotFound, RevisionNotFound, EntryNotFound) in X-Error-Code: a HEAD has no
body, and the clients map exceptions from that header alone (file_exists() returns False only through it).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from hub.accounts.permissions import Caller, anonymous
from hub.accounts.service import AccountService
from hub.api import hf_view
from hub.api.caching import document_cache, json_answer
from hub.api.files import IMMUTABLE, file_response
from hub.api.hf_upstream import upstream_file, upstream_of
from hub.api.streaming import RangeHeaders
from hub.deps import DbSession, DownloadsDep, SettingsDep, StorageDep
from hub.errors import AdapterNotFound, FileNotFound, HubError, InvalidToken, NamespaceNotFound, RevisionNotFound
from hub.registry.catalog.reads import CatalogService
from hub.registry.catalog.refs import MAIN_REF
from hub.registry.models import Version, VersionFile
from hub.security import bearer_token
from hub.upstream.client import EntryAbsent

TREE_PAGE_SIZE = 1000  # Hugging Face's own page size for tree listings
# Upstream documents: a commit's never change; a name's ("main") may move at the upstream at any time.
_PINNED, _UNPINNED = f"public, {IMMUTABLE}", "no-cache"
_HF_CODES: dict[type[HubError], str] = {
    AdapterNotFound: "RepoNotFound",
    NamespaceNotFound: "RepoNotFound",
    RevisionNotFound: "RevisionNotFound",
    FileNotFound: "EntryNotFound",
}


class EntryMissing(Exception):
    """A missing file of an existing version: the answer carries the commit, so the client caches the
    absence under .no_exist/<commit>/ and does not ask again."""

    def __init__(self, error: FileNotFound, commit: str) -> None:
        super().__init__(error.message)
        self.message, self.commit = error.message, commit


def hf_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    # Header values must be latin-1 on the wire; messages may quote a user's non-ASCII input.
    header_message = message.encode("ascii", "backslashreplace").decode().replace("\r", " ").replace("\n", " ")
    extra = {"X-Error-Code": code, "X-Error-Message": header_message, **(headers or {})}
    return JSONResponse({"error": message}, status_code=status, headers=extra)


class HfRoute(APIRoute):
    """Renders errors the way Hugging Face clients read them: {"error": message} and its X-Error-* headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def translated(request: Request) -> Response:
            try:
                return await handler(request)
            except (EntryMissing, EntryAbsent) as missing:
                commit = {"X-Repo-Commit": missing.commit} if missing.commit else {}
                return hf_error(404, "EntryNotFound", missing.message, commit)
            except HubError as error:
                code = _HF_CODES.get(type(error), error.code)
                return hf_error(error.status, code, error.message, error.headers)  # e.g. a 416's Content-Range

        return translated


router = APIRouter(tags=["huggingface"], route_class=HfRoute)


def _viewer(session: DbSession, authorization: Annotated[str | None, Header()] = None) -> Caller:
    raw = bearer_token(authorization)
    if raw is None:
        return anonymous(session)
    # Hugging Face clients send the user's huggingface.co token to every endpoint: an unknown token reads
    # public adapters as if anonymous, and is not counted by the failed-sign-in limiter (a stored HF token
    # would otherwise lock its user out after a few snapshot downloads). Guessing a 256-bit token here
    # gains nothing over guessing it elsewhere.
    try:
        return AccountService(session).caller(raw)
    except InvalidToken:
        return anonymous(session)


Viewer = Annotated[Caller, Depends(_viewer)]


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")  # 0.x clients send True/False, newer ones true/false


def _raw_tail(request: Request, marker: str, decoded: str) -> str:
    """The still-encoded part of the path after `marker`.

    Starlette decodes %2F before routing, so a revision such as refs%2Fpr%2F1 would otherwise be split
    across path segments; the raw path keeps it whole.
    """
    raw = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0]
    _, found, tail = raw.partition(marker)
    return tail if found else decoded


def _split_revision(tail: str) -> tuple[str, str]:
    revision, _, path = tail.partition("/")
    return unquote(revision), unquote(path)


def _version(session: DbSession, viewer: Caller, namespace: str, name: str, revision: str) -> Version:
    catalog = CatalogService(session)
    return catalog.resolve(catalog.adapter(namespace, name, viewer), revision)


def _file(session: DbSession, version: Version, path: str) -> VersionFile:
    try:
        return CatalogService(session).file(version, path)
    except FileNotFound as error:
        raise EntryMissing(error, version.revision) from None


RESOLVE_PATH = "/{namespace}/{name}/resolve/{rest:path}"


# GET and HEAD are registered apart so each has its own OpenAPI operation id.
@router.head(RESOLVE_PATH, operation_id="hf_resolve_metadata", summary="Hugging Face resolve: a file's headers")
@router.get(RESOLVE_PATH, operation_id="hf_resolve", summary="Hugging Face resolve: one file of a revision (Range)")
def resolve(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    settings: SettingsDep,
    counter: DownloadsDep,
    viewer: Viewer,
    namespace: str,
    name: str,
    rest: str,
    ranges: RangeHeaders,
) -> Response:
    revision, path = _split_revision(_raw_tail(request, f"/{namespace}/{name}/resolve/", rest))
    try:
        version = _version(session, viewer, namespace, name, revision)
    except (AdapterNotFound, NamespaceNotFound):
        if (upstream := upstream_of(request, session, namespace)) is None:
            raise
        return upstream_file(request.method, upstream, f"{namespace}/{name}", (revision, path), ranges)
    entry = _file(session, version, path)
    pinned, redirect = revision == version.revision, settings.s3_redirect_downloads
    return file_response(request.method, counter, storage, version, entry, ranges, pinned=pinned, redirect=redirect)


# Every JSON read also answers HEAD (its headers, ETag included); kept out of the schema, one operation per read.
@router.head("/api/models/{namespace}/{name}", include_in_schema=False)
@router.get("/api/models/{namespace}/{name}", summary="Hugging Face model info (the 'main' revision)")
def model_info(
    request: Request, session: DbSession, viewer: Viewer, namespace: str, name: str, blobs: str | None = None
) -> Response:
    try:
        version = _version(session, viewer, namespace, name, MAIN_REF)
    except (AdapterNotFound, NamespaceNotFound):
        if (upstream := upstream_of(request, session, namespace)) is None:
            raise
        return json_answer(request, upstream.info(f"{namespace}/{name}", None, blobs=_flag(blobs)), cache=_UNPINNED)
    document = hf_view.model_info(version.adapter, version, files_metadata=_flag(blobs))
    return json_answer(request, document, cache=document_cache(version.adapter, pinned=False))


@router.head("/api/models/{namespace}/{name}/revision/{rest:path}", include_in_schema=False)
@router.get("/api/models/{namespace}/{name}/revision/{rest:path}", summary="Hugging Face model info at a revision")
def model_info_at(
    request: Request, session: DbSession, viewer: Viewer, namespace: str, name: str, rest: str, blobs: str | None = None
) -> Response:
    revision = unquote(_raw_tail(request, f"/api/models/{namespace}/{name}/revision/", rest))
    try:
        version = _version(session, viewer, namespace, name, revision)
    except (AdapterNotFound, NamespaceNotFound):
        if (upstream := upstream_of(request, session, namespace)) is None:
            raise
        document = upstream.info(f"{namespace}/{name}", revision, blobs=_flag(blobs))
        return json_answer(request, document, cache=_PINNED if revision == document["sha"] else _UNPINNED)
    document = hf_view.model_info(version.adapter, version, files_metadata=_flag(blobs))
    return json_answer(request, document, cache=document_cache(version.adapter, pinned=revision == version.revision))


@router.head("/api/models/{namespace}/{name}/tree/{rest:path}", include_in_schema=False)
@router.get("/api/models/{namespace}/{name}/tree/{rest:path}", summary="Hugging Face file tree, paginated by Link")
def tree(
    request: Request,
    session: DbSession,
    viewer: Viewer,
    namespace: str,
    name: str,
    rest: str,
    recursive: str | None = None,
    cursor: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=TREE_PAGE_SIZE)] = TREE_PAGE_SIZE,
) -> Response:
    revision, path = _split_revision(_raw_tail(request, f"/api/models/{namespace}/{name}/tree/", rest))
    try:
        version = _version(session, viewer, namespace, name, revision)
    except (AdapterNotFound, NamespaceNotFound):
        if (upstream := upstream_of(request, session, namespace)) is None:
            raise
        entries = upstream.tree(f"{namespace}/{name}", revision, path, recursive=_flag(recursive))
        return _tree_page(request, entries, (cursor, limit), _UNPINNED)
    entries = hf_view.tree(version, hf_view.TreeQuery(path=path, recursive=_flag(recursive)))
    cache = document_cache(version.adapter, pinned=revision == version.revision)
    return _tree_page(request, entries, (cursor, limit), cache)


def _tree_page(request: Request, entries: list[dict[str, Any]], window: tuple[int, int], cache: str) -> Response:
    (cursor, limit), headers = window, {}
    if cursor + limit < len(entries):
        # Absolute: the client GETs the Link verbatim. The offset is stable because a commit's tree never changes.
        headers["Link"] = f'<{request.url.include_query_params(cursor=cursor + limit)}>; rel="next"'
    return json_answer(request, entries[cursor : cursor + limit], cache=cache, headers=headers)


@router.api_route("/api/telemetry/{rest:path}", methods=["GET", "HEAD", "POST"], include_in_schema=False)
@router.api_route("/api/agent-harnesses", methods=["GET", "HEAD"], include_in_schema=False)
@router.api_route("/api/models/{namespace}/{name}/xet-read-token/{rest:path}", methods=["GET"], include_in_schema=False)
def not_served() -> JSONResponse:
    # Probes of huggingface.co-only services: a 404 makes clients skip them (they ignore these errors), and
    # answering no Xet token keeps every download on plain HTTP.
    return hf_error(404, "NotFound", "This hub does not serve this Hugging Face endpoint.")
