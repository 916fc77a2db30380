"""Registered base models: register (writers of the id's namespace), list, read, and the adapters declared for one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hub.api.caching import MOVING, json_answer
from hub.api.render import adapter_summary, base_detail
from hub.api.schemas import BaseIn
from hub.deps import AnyCaller, DbSession, Writer
from hub.registry.catalog.registered import list_registered, register_base, registered_base
from hub.registry.search.query import SearchQuery, search
from sdk.formats.search_surface import MAX_CURSOR

router = APIRouter(prefix="/api", tags=["bases"])
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR, description="next_cursor of the previous page")]
Revision = Annotated[str | None, Query(max_length=40, description="Default: main, else the latest registered")]


@router.post("/bases", status_code=201, summary="Register a base model's structure and sizes (never its weights)")
def post_base(session: DbSession, caller: Writer, body: BaseIn) -> dict[str, Any]:
    return base_detail(register_base(session, caller, body.document()))


# Every JSON read also answers HEAD (hub/api/adapters.py), kept out of the schema.
@router.head("/bases", include_in_schema=False)
@router.get("/bases", summary="Registered base models, the latest first")
def get_bases(request: Request, session: DbSession) -> Response:
    document = {"bases": [base_detail(base, full=False) for base in list_registered(session)]}
    return json_answer(request, document, cache=MOVING)


# Declared before /bases/{model_id:path}, which would otherwise take ".../adapters" as part of the id.
@router.head("/bases/{model_id:path}/adapters", include_in_schema=False)
@router.get("/bases/{model_id:path}/adapters", summary="The adapters declared for a base, as search finds them")
def get_base_adapters(
    request: Request, session: DbSession, viewer: AnyCaller, model_id: str, cursor: Cursor = None
) -> Response:
    query = SearchQuery(filters={"base_model": model_id}, limit=request.app.state.settings.page_size, cursor=cursor,
                        viewer=viewer)  # fmt: skip
    result = search(session, query, request.app.state.facet_cache)
    document = {
        "base_model": model_id,
        "adapters": [adapter_summary(adapter) for adapter in result.adapters],
        "total": result.total,
        "next_cursor": result.next_cursor,
    }
    return json_answer(request, document, cache=MOVING)


@router.head("/bases/{model_id:path}", include_in_schema=False)
@router.get("/bases/{model_id:path}", summary="One registered base: structure, sizes, dtype, fingerprint, config")
def get_base(request: Request, session: DbSession, model_id: str, revision: Revision = None) -> Response:
    return json_answer(request, base_detail(registered_base(session, model_id, revision)), cache=MOVING)
