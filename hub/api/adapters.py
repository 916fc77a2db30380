"""Search, adapter and version info, tags, visibility and deletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from hub.api.render import adapter_detail, adapter_summary, version_detail
from hub.api.schemas import RefIn, VisibilityIn
from hub.deps import DbSession, OptionalUser, WriteUser
from hub.naming import check_ref_name
from hub.registry.catalog import CatalogService
from hub.registry.lifecycle import delete_adapter, delete_version, set_visibility
from hub.registry.lineage import visible_lineage
from hub.registry.refs import move_ref
from hub.registry.search import SearchQuery, search

router = APIRouter(prefix="/api", tags=["adapters"])
Text = Annotated[str | None, Query(max_length=200)]
ADAPTER = "/adapters/{namespace}/{name}"


@router.get("/adapters", summary="Search adapters, with facet filters, full text, sort and cursor paging")
def search_adapters(
    request: Request,
    session: DbSession,
    viewer: OptionalUser,
    q: Text = None,
    base_model: Text = None,
    task: Text = None,
    architecture: Text = None,
    method: Text = None,
    library: Text = None,
    license: Text = None,
    tag: Text = None,
    sort: Annotated[str, Query(pattern="^(downloads|recent|name)$")] = "downloads",
    limit: Annotated[int | None, Query(ge=1, le=100, description="Default: HUB_PAGE_SIZE")] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    facets = {"base_model": base_model, "task": task, "architecture": architecture, "method": method}
    filters = {k: v for k, v in {**facets, "library": library, "license": license}.items() if v}
    page_size = limit or request.app.state.settings.page_size
    query = SearchQuery(q=q, filters=filters, tag=tag, sort=sort, limit=page_size, cursor=cursor, viewer=viewer)
    result = search(session, query, request.app.state.facet_cache)
    return {
        "adapters": [adapter_summary(adapter) for adapter in result.adapters],
        "total": result.total,
        "next_cursor": result.next_cursor,
        "facets": {name: [{"value": v, "count": c} for v, c in pairs] for name, pairs in result.facets.items()},
    }


@router.get(ADAPTER, summary="One adapter, with its versions and tags")
def adapter_info(session: DbSession, viewer: OptionalUser, namespace: str, name: str) -> dict[str, Any]:
    adapter = CatalogService(session).adapter(namespace, name, viewer)
    latest = adapter.live_versions[-1] if adapter.live_versions else None
    return adapter_detail(adapter, lineage=visible_lineage(session, latest, viewer))


@router.get(ADAPTER + "/versions/{revision}", summary="One version: files, manifest, metadata")
def version_info(
    request: Request, session: DbSession, viewer: OptionalUser, namespace: str, name: str, revision: str
) -> dict[str, Any]:
    catalog = CatalogService(session)
    version = catalog.resolve(catalog.adapter(namespace, name, viewer), revision)
    lineage = visible_lineage(session, version, viewer)
    return version_detail(version, str(request.base_url).rstrip("/"), lineage=lineage)


@router.put(ADAPTER + "/refs/{ref}", summary="Point a tag (e.g. 'stable') at a version")
def put_ref(session: DbSession, user: WriteUser, namespace: str, name: str, ref: str, body: RefIn) -> dict[str, Any]:
    catalog = CatalogService(session)
    adapter = catalog.adapter(namespace, name, user)
    version = catalog.resolve(adapter, body.revision)
    move_ref(session, adapter, check_ref_name(ref), version, user)
    return {"ref": ref, "version": f"v{version.number}", "revision": version.revision}


@router.patch(ADAPTER, summary="Make an adapter private or public")
def patch_adapter(session: DbSession, user: WriteUser, namespace: str, name: str, body: VisibilityIn) -> dict[str, Any]:
    adapter = CatalogService(session).adapter(namespace, name, user)
    set_visibility(session, adapter, body.private, user)
    return {"id": f"{adapter.namespace.name}/{adapter.name}", "private": adapter.private}


@router.delete(ADAPTER, status_code=204, summary="Delete an adapter and all its versions (owners)")
def remove_adapter(session: DbSession, user: WriteUser, namespace: str, name: str) -> None:
    delete_adapter(session, CatalogService(session).adapter(namespace, name, user), user)


@router.delete(ADAPTER + "/versions/{revision}", status_code=204, summary="Delete one version (owners)")
def remove_version(session: DbSession, user: WriteUser, namespace: str, name: str, revision: str) -> None:
    catalog = CatalogService(session)
    adapter = catalog.adapter(namespace, name, user)
    delete_version(session, adapter, catalog.resolve(adapter, revision), user)
