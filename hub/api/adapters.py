"""Search, adapter and version info, and moving tags."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from hub.api.render import adapter_detail, adapter_summary, version_detail
from hub.api.schemas import RefIn
from hub.deps import CurrentUser, DbSession
from hub.errors import Forbidden
from hub.naming import check_ref_name
from hub.registry.catalog import CatalogService
from hub.registry.refs import move_ref
from hub.registry.search import FACETS, SearchQuery, search

router = APIRouter(prefix="/api", tags=["adapters"])
Text = Annotated[str | None, Query(max_length=200)]


@router.get("/adapters", summary="Search adapters, with facet filters, full text, sort and cursor paging")
def search_adapters(
    session: DbSession,
    q: Text = None,
    base_model: Text = None,
    task: Text = None,
    architecture: Text = None,
    method: Text = None,
    library: Text = None,
    license: Text = None,
    tag: Text = None,
    sort: Annotated[str, Query(pattern="^(downloads|recent|name)$")] = "downloads",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    values = {"base_model": base_model, "task": task, "architecture": architecture, "method": method}
    filters = {name: value for name, value in {**values, "library": library, "license": license}.items() if value}
    assert set(filters) <= set(FACETS)
    query = SearchQuery(q=q, filters=filters, tag=tag, sort=sort, limit=limit, cursor=cursor)
    result = search(session, query)
    return {
        "adapters": [adapter_summary(adapter) for adapter in result.adapters],
        "total": result.total,
        "next_cursor": result.next_cursor,
        "facets": {name: [{"value": v, "count": c} for v, c in pairs] for name, pairs in result.facets.items()},
    }


@router.get("/adapters/{namespace}/{name}", summary="One adapter, with its versions and tags")
def adapter_info(session: DbSession, namespace: str, name: str) -> dict[str, Any]:
    return adapter_detail(CatalogService(session).adapter(namespace, name))


@router.get("/adapters/{namespace}/{name}/versions/{revision}", summary="One version: files, manifest, metadata")
def version_info(request: Request, session: DbSession, namespace: str, name: str, revision: str) -> dict[str, Any]:
    catalog = CatalogService(session)
    version = catalog.resolve(catalog.adapter(namespace, name), revision)
    return version_detail(version, str(request.base_url).rstrip("/"))


@router.put("/adapters/{namespace}/{name}/refs/{ref}", summary="Point a tag (e.g. 'stable') at a version")
def put_ref(session: DbSession, user: CurrentUser, namespace: str, name: str, ref: str, body: RefIn) -> dict[str, Any]:
    catalog = CatalogService(session)
    adapter = catalog.adapter(namespace, name)
    if not (user.is_admin or user.namespace_id == adapter.namespace_id):
        raise Forbidden(f"{user.name!r} may not tag {namespace}/{name}: it is not their namespace.")
    version = catalog.resolve(adapter, body.revision)
    move_ref(session, adapter, check_ref_name(ref), version, user)
    return {"ref": ref, "version": f"v{version.number}", "revision": version.revision}
