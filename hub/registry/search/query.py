"""Search over adapters: facet filters, a full-text query, sorts, cursor pagination and facet counts.

Facets are read from columns copied onto the adapter row from its latest version, so a search
reads one table. Facet counts are disjunctive: each facet is counted with every filter but its
own, so a user who picked method=lora still sees how many ia3 adapters there are.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from hub.accounts.permissions import Caller
from hub.errors import InvalidCursor, InvalidRequest
from hub.generation import current as current_generation
from hub.registry.evaluations.scores import lower_is_better, sortable_score
from hub.registry.models import Adapter, AdapterTag
from hub.registry.search.facet_cache import FacetCache
from hub.registry.search.fulltext import matches, query_words
from hub.registry.visibility import visible_to
from sdk.formats.search_surface import DEFAULT_SORT, FACET_NAMES, SORT_NAMES, base_model_ids, sorted_metric

# Each facet of the search surface (sdk/formats/search_surface.py) and the adapter column it filters.
FACETS: dict[str, Any] = {
    "base_model": Adapter.base_model,
    "task": Adapter.task,
    "architecture": Adapter.base_model_type,
    "method": Adapter.method,
    "library": Adapter.library,
    "license": Adapter.license,
}
assert tuple(FACETS) == FACET_NAMES, "every facet of the search surface needs its column here"
FACET_LIMIT = 50


def _time_from_cursor(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidCursor("The cursor is malformed; start from the first page.") from None


@dataclass(frozen=True)
class SortSpec:
    """One sort, whole: its column, direction, and how a row's value of it goes into a cursor and comes back."""

    column: Any
    descending: bool
    to_cursor: Callable[[Any], Any]
    from_cursor: Callable[[Any], Any]  # raises InvalidCursor
    cursor_type: type
    index: str | None = None  # the index holding the column in order (hub/registry/models.py), rowid last on SQLite


SORTS: dict[str, SortSpec] = {
    "downloads": SortSpec(Adapter.downloads, True, lambda v: v, lambda v: v, int, "ix_adapters_downloads"),
    "recent": SortSpec(
        Adapter.updated_at, True, lambda v: v.isoformat(), _time_from_cursor, str, "ix_adapters_updated_at"
    ),
    "name": SortSpec(Adapter.key, False, lambda v: v, lambda v: v, str, "ix_adapters_key"),
}
# From this many matches on, reading the sort's index in order and testing each row finds a page sooner than
# sorting every match: about limit * catalogue / matches rows are read, against `matches` rows (docs/performance.md).
WALK_SORT_INDEX_FROM = 1000
assert tuple(SORTS) == SORT_NAMES, "every sort of the search surface needs its spec here"


def sort_spec(sort: str, task: str | None) -> SortSpec:
    """The spec of a fixed sort, or of `metric:NAME` ranked within `task` (the task filter, required)."""
    if sort in SORTS:
        return SORTS[sort]
    metric = sorted_metric(sort)
    if metric is None:
        raise InvalidRequest(f"sort must be one of {', '.join(SORT_NAMES)} or metric:NAME, not {sort[:40]!r}.")
    if not task:
        raise InvalidRequest(
            f"sort={sort[:80]} ranks scores within one task: add a task filter, e.g. task=text-classification."
        )
    return SortSpec(sortable_score(task, metric), not lower_is_better(metric), float, float, float)


@dataclass
class SearchQuery:
    q: str | None = None
    filters: dict[str, str] = field(default_factory=dict)  # facet name -> value
    tag: str | None = None
    sort: str = DEFAULT_SORT
    limit: int = 20
    cursor: str | None = None
    viewer: Caller | None = None  # private adapters appear only to callers with a role in their namespace


@dataclass
class SearchResult:
    adapters: list[Adapter]
    total: int
    next_cursor: str | None
    facets: dict[str, list[tuple[str, int]]]


def search(session: Session, query: SearchQuery, cache: FacetCache | None = None) -> SearchResult:
    """One page of adapters, the total, and facet counts (from `cache` when the catalogue has not changed)."""
    spec = sort_spec(query.sort, query.filters.get("task"))
    dialect = session.get_bind().dialect.name
    conditions = _conditions(query, dialect)
    total, facets = _counts(session, query, conditions, cache)
    walk = spec.index is not None and total >= WALK_SORT_INDEX_FROM
    rows = _page(session, query, spec, _planned(query, conditions, dialect, walk), walk=walk)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    cursor = _encode_cursor(query.sort, spec, rows[-1]) if more and rows else None
    return SearchResult([adapter for adapter, _ in rows], total, cursor, facets)


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
    reader = query.viewer.reader if query.viewer is not None else None
    viewer = None if reader is None else (reader.id, reader.is_admin)
    filters = tuple(sorted((k, v) for k, v in query.filters.items() if v))
    return (generation, viewer, filters, query.tag, tuple(query_words(query.q)), bool((query.q or "").strip()))


def _conditions(query: SearchQuery, dialect: str) -> dict[str, ColumnElement[bool]]:
    conditions: dict[str, ColumnElement[bool]] = {"live": Adapter.is_live, "visible": visible_to(query.viewer)}
    for name, value in query.filters.items():
        if value:
            conditions[name] = _facet_condition(name, value)
    if query.tag:
        conditions["tag"] = Adapter.id.in_(select(AdapterTag.adapter_id).where(AdapterTag.tag == query.tag))
    words = query_words(query.q)
    if words:
        conditions["q"] = matches(dialect, words)
    elif query.q and query.q.strip():
        conditions["q"] = false()  # punctuation only: nothing can match
    return conditions


def _planned(
    query: SearchQuery, conditions: dict[str, ColumnElement[bool]], dialect: str, walk: bool
) -> dict[str, ColumnElement[bool]]:
    """SQLite's planner cannot tell how many adapters a full-text match holds, so the hub picks its plan: few
    matches, one full-text match for words, filters and tag; many, the sort's index read in order (`_page`).
    PostgreSQL's planner estimates both from its statistics and is given the conditions as they are."""
    if dialect != "sqlite" or walk:
        return conditions
    return _by_full_text(query, conditions, dialect)


def _by_full_text(
    query: SearchQuery, conditions: dict[str, ColumnElement[bool]], dialect: str
) -> dict[str, ColumnElement[bool]]:
    """The same search with its words, facet filters and tag asked of the full-text index in one match."""
    groups = [_facet_group(name, value) for name, value in query.filters.items() if value]
    groups += [[("tag", query.tag)]] if query.tag else []
    words = query_words(query.q)
    if not groups and not words:
        return conditions
    kept = {key: condition for key, condition in conditions.items() if key in ("live", "visible")}
    matched = conditions["q"] if "q" in conditions and not words else matches(dialect, words, groups)
    return kept | {"q": matched}


def _facet_group(name: str, value: str) -> list[tuple[str, str]]:
    values = base_model_ids(value) if name == "base_model" else [value]
    return [(name, one) for one in values]


def _facet_condition(name: str, value: str) -> ColumnElement[bool]:
    if name == "base_model":
        return FACETS[name].in_(base_model_ids(value))  # "gpt2" also finds "openai-community/gpt2"
    return FACETS[name] == value


def _page(
    session: Session,
    query: SearchQuery,
    spec: SortSpec,
    conditions: dict[str, ColumnElement[bool]],
    *,
    walk: bool,
) -> list[tuple[Adapter, Any]]:
    """The page's adapters, each with its value of the sort column (the cursor is made from the last one's)."""
    value = _sort_value(spec, session.get_bind().dialect.name, walk)
    statement: Select[tuple[Adapter, Any]] = select(Adapter, value).where(*conditions.values())
    if walk:  # PostgreSQL's planner finds this plan from its statistics; SQLite's would sort every match
        statement = statement.with_hint(Adapter, f"INDEXED BY {spec.index}", "sqlite")
    if query.cursor:
        statement = statement.where(_after_cursor(query.sort, spec, query.cursor))
    statement = statement.order_by(*_order(value, spec.descending)).limit(query.limit + 1)
    # One round trip for the page with its namespace and card, one for the tags (a collection).
    statement = statement.options(joinedload(Adapter.namespace), joinedload(Adapter.text), selectinload(Adapter.tags))
    return [(adapter, value) for adapter, value in session.execute(statement)]


def _sort_value(spec: SortSpec, dialect: str, walk: bool) -> Any:
    """The sort column, labelled so a computed score is computed once per row and ordered by its name.

    With few matches PostgreSQL must sort them by name, not walk `ix_adapters_key`: its estimate of a full-text
    match can be 3x too high, and then it reads the index in order and tests 11k adapters' texts for 20 hits
    (95 ms at 100k). An expression no index answers leaves it the match-then-sort plan (6 ms). Only the name
    sort: for downloads and recency the same trick measured 3-4x slower (its walk finds hits early).
    """
    if dialect == "postgresql" and spec.index == "ix_adapters_key" and not walk:
        return func.coalesce(spec.column, spec.column).label("sort_value")
    return spec.column.label("sort_value")


def _order(value: Any, descending: bool) -> list[Any]:
    if descending:
        return [value.desc(), Adapter.id.desc()]
    return [value.asc(), Adapter.id.asc()]


def _encode_cursor(sort: str, spec: SortSpec, last: tuple[Adapter, Any]) -> str:
    adapter, value = last
    raw = json.dumps([sort, spec.to_cursor(value), adapter.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(sort: str, spec: SortSpec, cursor: str) -> tuple[Any, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, last_id = json.loads(raw)
    except (ValueError, TypeError, binascii.Error):
        raise InvalidCursor("The cursor is not one this hub handed out; start from the first page.") from None
    if cursor_sort != sort or not isinstance(last_id, int) or isinstance(value, (list, dict)):
        raise InvalidCursor("The cursor belongs to another sort order; start from the first page.")
    if not _plausible_cursor(spec, value, last_id):  # forged values would reach the database as they are
        raise InvalidCursor("The cursor is malformed; start from the first page.")
    return value, last_id


def _plausible_cursor(spec: SortSpec, value: Any, last_id: int) -> bool:
    """The values this hub puts in a cursor: ids and download counts within their column types, finite scores,
    text without NUL."""
    if isinstance(last_id, bool) or not 0 <= last_id < 2**31:
        return False
    if spec.cursor_type is int:
        return type(value) is int and 0 <= value < 2**63
    if spec.cursor_type is float:
        return type(value) in (int, float) and math.isfinite(value)
    return isinstance(value, str) and "\x00" not in value


def _after_cursor(sort: str, spec: SortSpec, cursor: str) -> ColumnElement[bool]:
    raw_value, last_id = _decode_cursor(sort, spec, cursor)
    value = spec.from_cursor(raw_value)
    # The bound on the column alone lets the engine start reading the sort index at the cursor.
    if spec.descending:
        return and_(spec.column <= value, or_(spec.column < value, Adapter.id < last_id))
    return and_(spec.column >= value, or_(spec.column > value, Adapter.id > last_id))


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
