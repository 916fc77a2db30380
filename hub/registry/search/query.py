"""Search over adapters: facet filters, a full-text query, sorts, cursor pagination and facet counts.

Facets are read from columns copied onto the adapter row from its latest version, so a search
reads one table. Facet counts are disjunctive: each facet is counted with every filter but its
own, so a user who picked method=lora still sees how many ia3 adapters there are.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from hub.accounts.models import User
from hub.accounts.permissions import readable_namespace_ids
from hub.errors import InvalidCursor, InvalidRequest
from hub.generation import current as current_generation
from hub.registry.models import Adapter, AdapterTag
from hub.registry.search.facet_cache import FacetCache
from hub.registry.search.fulltext import matches, query_words

FACETS: dict[str, Any] = {
    "base_model": Adapter.base_model,
    "task": Adapter.task,
    "architecture": Adapter.base_model_type,
    "method": Adapter.method,
    "library": Adapter.library,
    "license": Adapter.license,
}
SORTS = ("downloads", "recent", "name")
FACET_LIMIT = 50


@dataclass
class SearchQuery:
    q: str | None = None
    filters: dict[str, str] = field(default_factory=dict)  # facet name -> value
    tag: str | None = None
    sort: str = "downloads"
    limit: int = 20
    cursor: str | None = None
    viewer: User | None = None  # private adapters appear only in namespaces the viewer has a role in


@dataclass
class SearchResult:
    adapters: list[Adapter]
    total: int
    next_cursor: str | None
    facets: dict[str, list[tuple[str, int]]]


def search(session: Session, query: SearchQuery, cache: FacetCache | None = None) -> SearchResult:
    """One page of adapters, the total, and facet counts (from `cache` when the catalogue has not changed)."""
    if query.sort not in SORTS:
        raise InvalidRequest(f"sort must be one of {', '.join(SORTS)}, not {query.sort[:40]!r}.")
    conditions = _conditions(query, session.get_bind().dialect.name)
    total, facets = _counts(session, query, conditions, cache)
    page = _page(session, query, list(conditions.values()))
    more = len(page) > query.limit
    page = page[: query.limit]
    cursor = _encode_cursor(query.sort, page[-1]) if more and page else None
    return SearchResult(page, total, cursor, facets)


def _counts(
    session: Session, query: SearchQuery, conditions: dict[str, ColumnElement[bool]], cache: FacetCache | None
) -> tuple[int, dict[str, list[tuple[str, int]]]]:
    generation = current_generation(session) if cache is not None else None
    key = _cache_key(query, generation)
    cached = cache.get(key) if cache is not None and generation is not None else None
    if cached is not None:
        return cached
    counted = (
        session.scalar(select(func.count()).select_from(Adapter).where(*conditions.values())) or 0,
        facet_counts(session, conditions),
    )
    if cache is not None and generation is not None:
        cache.put(key, counted)
    return counted


def _cache_key(query: SearchQuery, generation: int | None) -> tuple[object, ...]:
    viewer = None if query.viewer is None else (query.viewer.id, query.viewer.is_admin)
    filters = tuple(sorted((k, v) for k, v in query.filters.items() if v))
    return (generation, viewer, filters, query.tag, tuple(query_words(query.q)), bool((query.q or "").strip()))


def _conditions(query: SearchQuery, dialect: str) -> dict[str, ColumnElement[bool]]:
    conditions: dict[str, ColumnElement[bool]] = {"live": Adapter.deleted_at.is_(None), "visible": _visible(query)}
    for name, value in query.filters.items():
        if value:
            conditions[name] = FACETS[name] == value
    if query.tag:
        conditions["tag"] = Adapter.id.in_(select(AdapterTag.adapter_id).where(AdapterTag.tag == query.tag))
    words = query_words(query.q)
    if words:
        conditions["q"] = matches(dialect, words)
    elif query.q and query.q.strip():
        conditions["q"] = false()  # punctuation only: nothing can match
    return conditions


def _visible(query: SearchQuery) -> ColumnElement[bool]:
    readable = readable_namespace_ids(query.viewer)
    if readable is None:
        return Adapter.private.is_(False)
    return or_(Adapter.private.is_(False), Adapter.namespace_id.in_(readable))


def _page(session: Session, query: SearchQuery, conditions: list[ColumnElement[bool]]) -> list[Adapter]:
    statement: Select[tuple[Adapter]] = select(Adapter).where(*conditions)
    if query.cursor:
        statement = statement.where(_after_cursor(query.sort, query.cursor))
    statement = statement.order_by(*_order(query.sort)).limit(query.limit + 1)
    statement = statement.options(selectinload(Adapter.namespace), selectinload(Adapter.tags))
    return list(session.scalars(statement))


def _order(sort: str) -> list[Any]:
    if sort == "downloads":
        return [Adapter.downloads.desc(), Adapter.id.desc()]
    if sort == "recent":
        return [Adapter.updated_at.desc(), Adapter.id.desc()]
    return [Adapter.key.asc(), Adapter.id.asc()]


def _sort_value(sort: str, adapter: Adapter) -> Any:
    if sort == "downloads":
        return adapter.downloads
    if sort == "recent":
        return adapter.updated_at.isoformat()
    return adapter.key


def _encode_cursor(sort: str, last: Adapter) -> str:
    raw = json.dumps([sort, _sort_value(sort, last), last.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(sort: str, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidCursor("The cursor is not one this hub handed out; start from the first page.") from None
    if cursor_sort != sort or not isinstance(last_id, int) or isinstance(value, (list, dict)):
        raise InvalidCursor("The cursor belongs to another sort order; start from the first page.")
    if not _plausible_cursor(sort, value, last_id):  # forged values would reach the database as they are
        raise InvalidCursor("The cursor is malformed; start from the first page.")
    return value, last_id


def _plausible_cursor(sort: str, value: Any, last_id: int) -> bool:
    """The values this hub puts in a cursor: ids and download counts within their column types, text without NUL."""
    if isinstance(last_id, bool) or not 0 <= last_id < 2**31:
        return False
    if sort == "downloads":
        return type(value) is int and 0 <= value < 2**63
    return isinstance(value, str) and "\x00" not in value


def _after_cursor(sort: str, cursor: str) -> ColumnElement[bool]:
    value, last_id = _decode_cursor(sort, cursor)
    if sort == "recent":
        value = _parse_time(value)
    column = {"downloads": Adapter.downloads, "recent": Adapter.updated_at, "name": Adapter.key}[sort]
    if sort == "name":
        return or_(column > value, and_(column == value, Adapter.id > last_id))
    return or_(column < value, and_(column == value, Adapter.id < last_id))


def _parse_time(value: Any) -> Any:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidCursor("The cursor is malformed; start from the first page.") from None


def facet_counts(session: Session, conditions: dict[str, ColumnElement[bool]]) -> dict[str, list[tuple[str, int]]]:
    counts = {}
    for name, column in FACETS.items():
        others = [condition for key, condition in conditions.items() if key != name]
        statement = (
            select(column, func.count())
            .where(*others, column.is_not(None))
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(FACET_LIMIT)
        )
        counts[name] = [(value, count) for value, count in session.execute(statement)]
    counts["tag"] = _tag_counts(session, [c for key, c in conditions.items() if key != "tag"])
    return counts


def _tag_counts(session: Session, conditions: list[ColumnElement[bool]]) -> list[tuple[str, int]]:
    # A semi-join reads the covering (tag, adapter_id) index; a join would fetch every adapters row.
    matching = select(Adapter.id).where(*conditions)
    statement = (
        select(AdapterTag.tag, func.count())
        .where(AdapterTag.adapter_id.in_(matching))
        .group_by(AdapterTag.tag)
        .order_by(func.count().desc(), AdapterTag.tag)
        .limit(FACET_LIMIT)
    )
    return [(tag, count) for tag, count in session.execute(statement)]
