"""Search, adapter and version info, tags, visibility and deletion."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, create_model

from hub.accounts.permissions import Caller
from hub.api.caching import MOVING, adapter_cache, document_cache, json_answer
from hub.api.render import adapter_detail, adapter_summary, version_detail
from hub.api.schemas import RefIn, VisibilityIn
from hub.deps import AnyCaller, DbSession, Writer
from hub.naming import check_ref_name
from hub.registry.catalog.lifecycle import delete_adapter, delete_ref, delete_version, move_ref, set_visibility
from hub.registry.catalog.reads import CatalogService
from hub.registry.catalog.registered import base_of
from hub.registry.catalog.sizes import share_of_base
from hub.registry.evaluations.store import evaluations_of
from hub.registry.publish.lineage import merges_of, visible_lineage
from hub.registry.search.query import SearchQuery, search
from sdk.formats.search_surface import (
    DEFAULT_SORT,
    FACET_NAMES,
    FILTERS,
    MAX_CURSOR,
    MAX_VALUE,
    SORT_NAMES,
    SORT_PATTERN,
)

router = APIRouter(prefix="/api", tags=["adapters"])
ADAPTER = "/adapters/{namespace}/{name}"


def _search_fields() -> dict[str, Any]:
    """The query parameters, from the one table of facets and sorts (sdk/formats/search_surface.py)."""
    text = Field(None, max_length=MAX_VALUE, description="Words that must all match (name, card, tags...)")
    fields: dict[str, Any] = {"q": (str | None, text)}
    for facet in FILTERS:
        fields[facet.name] = (str | None, Field(None, max_length=MAX_VALUE, description=facet.description))
    sorts = ", ".join(SORT_NAMES) + ", or metric:NAME (best stated score first, within the task filter)"
    fields["sort"] = (str, Field(DEFAULT_SORT, pattern=SORT_PATTERN, max_length=80, description=sorts))
    fields["limit"] = (int | None, Field(None, ge=1, le=100, description="Default: HUB_PAGE_SIZE"))
    fields["cursor"] = (str | None, Field(None, max_length=MAX_CURSOR, description="next_cursor of the previous page"))
    return fields


class _SearchBase(BaseModel):
    def query(self, page_size: int, viewer: Caller) -> SearchQuery:
        filters = {name: value for name in FACET_NAMES if (value := getattr(self, name))}
        limit = self.limit or page_size  # type: ignore[attr-defined]
        return SearchQuery(
            q=self.q,  # type: ignore[attr-defined]
            filters=filters,
            tag=self.tag,  # type: ignore[attr-defined]
            sort=self.sort,  # type: ignore[attr-defined]
            limit=limit,
            cursor=self.cursor,  # type: ignore[attr-defined]
            viewer=viewer,
        )


SearchParams = create_model(
    "SearchParams",
    __base__=_SearchBase,
    __doc__="The search query string; every facet filter is an exact value, `q` matches word prefixes.",
    **_search_fields(),
)


# Every JSON read also answers HEAD (its headers, ETag included); kept out of the schema, one operation per read.
@router.head("/adapters", include_in_schema=False)
@router.get("/adapters", summary="Search adapters, with facet filters, full text, sort and cursor paging")
def search_adapters(
    request: Request, session: DbSession, viewer: AnyCaller, params: Annotated[SearchParams, Query()]
) -> Response:
    query = params.query(request.app.state.settings.page_size, viewer)
    result = search(session, query, request.app.state.facet_cache)
    document = {
        "adapters": [adapter_summary(adapter) for adapter in result.adapters],
        "total": result.total,
        "next_cursor": result.next_cursor,
        "facets": {name: [{"value": v, "count": c} for v, c in pairs] for name, pairs in result.facets.items()},
    }
    return json_answer(request, document, cache=MOVING)


@router.head(ADAPTER, include_in_schema=False)
@router.get(ADAPTER, summary="One adapter, with its versions and tags")
def adapter_info(request: Request, session: DbSession, viewer: AnyCaller, namespace: str, name: str) -> Response:
    adapter = CatalogService(session).adapter(namespace, name, viewer)
    latest = CatalogService(session).current(adapter)
    lineage, merges = visible_lineage(session, latest, viewer), merges_of(session, adapter, viewer)
    base = share_of_base(latest.trainable_params, latest.total_bytes, base_of(session, latest))
    document = adapter_detail(adapter, lineage=lineage, merges=merges, base=base)
    return json_answer(request, document, cache=adapter_cache(adapter, merges))  # tags, versions and merges move


@router.head(ADAPTER + "/versions/{revision}", include_in_schema=False)
@router.get(ADAPTER + "/versions/{revision}", summary="One version: files, manifest, metadata")
def version_info(
    request: Request, session: DbSession, viewer: AnyCaller, namespace: str, name: str, revision: str
) -> Response:
    catalog = CatalogService(session)
    version = catalog.resolve(catalog.adapter(namespace, name, viewer), revision)
    lineage = visible_lineage(session, version, viewer)
    evaluations = evaluations_of(session, version)
    document = version_detail(version, str(request.base_url).rstrip("/"), lineage=lineage, evaluations=evaluations)
    return json_answer(request, document, cache=document_cache(version.adapter, pinned=revision == version.revision))


@router.put(ADAPTER + "/refs/{ref}", summary="Point a tag (e.g. 'stable') at a version")
def put_ref(session: DbSession, caller: Writer, namespace: str, name: str, ref: str, body: RefIn) -> dict[str, Any]:
    catalog = CatalogService(session)
    adapter = catalog.adapter(namespace, name, caller)
    version = catalog.resolve(adapter, body.revision)
    move_ref(session, adapter, check_ref_name(ref), version, caller)
    return {"ref": ref, "version": f"v{version.number}", "revision": version.revision}


@router.delete(ADAPTER + "/refs/{ref}", status_code=204, summary="Delete a tag (not 'main'); its version stays")
def remove_ref(session: DbSession, caller: Writer, namespace: str, name: str, ref: str) -> None:
    delete_ref(session, CatalogService(session).adapter(namespace, name, caller), ref, caller)


@router.patch(ADAPTER, summary="Make an adapter private or public")
def patch_adapter(session: DbSession, caller: Writer, namespace: str, name: str, body: VisibilityIn) -> dict[str, Any]:
    adapter = CatalogService(session).adapter(namespace, name, caller)
    set_visibility(session, adapter, body.private, caller)
    return {"id": f"{adapter.namespace.name}/{adapter.name}", "private": adapter.private}


@router.delete(ADAPTER, status_code=204, summary="Delete an adapter and all its versions (owners)")
def remove_adapter(session: DbSession, caller: Writer, namespace: str, name: str) -> None:
    delete_adapter(session, CatalogService(session).adapter(namespace, name, caller), caller)


@router.delete(ADAPTER + "/versions/{revision}", status_code=204, summary="Delete one version (owners)")
def remove_version(session: DbSession, caller: Writer, namespace: str, name: str, revision: str) -> None:
    catalog = CatalogService(session)
    adapter = catalog.adapter(namespace, name, caller)
    delete_version(session, adapter, catalog.resolve(adapter, revision), caller)
