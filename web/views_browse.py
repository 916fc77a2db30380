"""Browsing pages: the front page, search, a namespace's adapters and the adapters that fit a base model."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hub.deps import DbSession
from hub.registry.catalog.bases import base_structure, fitting_elsewhere
from hub.registry.catalog.browse import newest
from hub.registry.catalog.registered import find_registered, registered_structure
from hub.registry.search.facet_cache import FacetCache
from hub.registry.search.query import SearchQuery, SearchResult, search
from web.adapter_view import registered_rows, structure_rows
from web.auth import WebCaller, load_web_caller
from web.contexts import HomePage, ListingPage, SearchPage
from web.search_params import LABELS, SearchParams
from web.templating import plural, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
HOME_LIST = 8
BASE_LIST = 50
# Numbered pages (a namespace's adapters) stop here: 10,000 pages of 50 is more than any namespace holds, and an
# unbounded number reaches the database as an OFFSET past its integers (a 500 on SQLite).
MAX_PAGE = 10_000
Page = Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")]


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession, caller: WebCaller) -> HTMLResponse:
    popular = search(session, SearchQuery(sort="downloads", limit=HOME_LIST, viewer=caller), _facet_cache(request))
    latest = newest(session, caller, HOME_LIST)
    page = HomePage(total=popular.total, facets=popular.facets, popular=popular.adapters, newest=latest)
    return render(request, page)


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, session: DbSession, caller: WebCaller) -> HTMLResponse:
    params = SearchParams.from_query(request.query_params)
    query = params.to_search(limit=request.app.state.settings.page_size)
    query.viewer = caller
    result = search(session, query, _facet_cache(request))
    next_url = params.url(cursor=result.next_cursor) if result.next_cursor else None
    page = SearchPage(
        params=params,
        adapters=result.adapters,
        total=result.total,
        facets=result.facets,
        next_url=next_url,
        why_empty=why_empty(params, result) if not result.adapters else [],
    )
    return render(request, page)


def _facet_cache(request: Request) -> FacetCache:
    return request.app.state.facet_cache  # per catalogue generation, so never stale (search/facet_cache.py)


def why_empty(params: SearchParams, result: SearchResult) -> list[str]:
    """Explain an empty page from the facet counts, which are computed with every filter but their own."""
    if params.cursor:
        return ["This is past the last page of results; go back to the first page."]
    if not params.q and not params.active:
        return ["The hub has no public adapters yet."]
    reasons = [_why_filter(name, value, result.facets.get(name, [])) for name, value in params.active]
    if params.q:
        scope = " among adapters that pass the filters" if params.active else ""
        reasons.insert(0, f"No adapter's name, description or tags contain every word of {params.q!r}{scope}.")
    return reasons


def _why_filter(name: str, value: str, others: list[tuple[str, int]]) -> str:
    label = LABELS[name].lower()
    if not others:
        return f"Even without the {label} filter ({value!r}), nothing matches."
    shown = ", ".join(f"{other} ({count})" for other, count in others[:3])
    return f"No adapter that passes the other filters has {label} {value!r}; they have {shown}."


@router.get("/bases/{model_id:path}", response_class=HTMLResponse)
def base_page(request: Request, session: DbSession, caller: WebCaller, model_id: str) -> HTMLResponse:
    registered = find_registered(session, model_id)
    base = registered_structure(registered) if registered else base_structure(session, model_id)
    query = SearchQuery(filters={"base_model": model_id}, limit=BASE_LIST, viewer=caller)
    result = search(session, query, _facet_cache(request))
    page = ListingPage(
        title=model_id,
        subtitle=f"{plural(result.total, 'adapter')} published for this base model",
        adapters=result.adapters,
        total=result.total,
        next_url=SearchParams(filters={"base_model": model_id}).url() if result.next_cursor else None,
        kind="base",
        fitting=fitting_elsewhere(session, base),
        facts=registered_rows(registered) if registered else structure_rows(base),
        registered=registered is not None,
        search_url="/search?" + urlencode({"base_model": model_id}),
    )
    return render(request, page)
