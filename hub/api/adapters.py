"""Search, adapter and version info, tags, visibility and deletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from hub.accounts.models import User
from hub.api.render import adapter_detail, adapter_summary, version_detail
from hub.api.schemas import RefIn, VisibilityIn
from hub.deps import DbSession, OptionalUser, WriteUser
from hub.naming import check_ref_name
from hub.registry.catalog.lifecycle import delete_adapter, delete_version, set_visibility
from hub.registry.catalog.reads import CatalogService
from hub.registry.catalog.refs import move_ref
from hub.registry.publish.lineage import visible_lineage
from hub.registry.search.query import SearchQuery, search

router = APIRouter(prefix="/api", tags=["adapters"])
ADAPTER = "/adapters/{namespace}/{name}"


class SearchParams(BaseModel):
    """The search query string; every facet filter is an exact value, `q` matches word prefixes."""

    q: str | None = Field(None, max_length=200, description="Words that must all match (name, card, tags...)")
    base_model: str | None = Field(None, max_length=200)
    task: str | None = Field(None, max_length=200)
    architecture: str | None = Field(None, max_length=200, description="The base's model type: llama, gpt2...")
    method: str | None = Field(None, max_length=200, description="lora, ia3, seq_bn, prefix_tuning...")
    library: str | None = Field(None, max_length=200, description="peft, adapters, opendelta")
    license: str | None = Field(None, max_length=200)
    tag: str | None = Field(None, max_length=200)
    sort: str = Field("downloads", pattern="^(downloads|recent|name)$")
    limit: int | None = Field(None, ge=1, le=100, description="Default: HUB_PAGE_SIZE")
    cursor: str | None = Field(None, max_length=500, description="next_cursor of the previous page")

    def query(self, page_size: int, viewer: User | None) -> SearchQuery:
        facets = ("base_model", "task", "architecture", "method", "library", "license")
        filters = {name: value for name in facets if (value := getattr(self, name))}
        limit = self.limit or page_size
        return SearchQuery(
            q=self.q, filters=filters, tag=self.tag, sort=self.sort, limit=limit, cursor=self.cursor, viewer=viewer
        )


@router.get("/adapters", summary="Search adapters, with facet filters, full text, sort and cursor paging")
def search_adapters(
    request: Request, session: DbSession, viewer: OptionalUser, params: Annotated[SearchParams, Query()]
) -> dict[str, Any]:
    query = params.query(request.app.state.settings.page_size, viewer)
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
