"""The search page's state, read from and written back to the URL so every result page can be shared."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from hub.registry.search.query import SearchQuery
from sdk.formats import search_surface as surface

# All from the one table of facets and sorts (sdk/formats/search_surface.py).
FILTERS = surface.FILTER_NAMES  # base_model, task, architecture, method, library, license, tag
FACETS = surface.FACET_NAMES
LABELS = {facet.name: facet.label for facet in surface.FILTERS}
SORTS = surface.SORT_NAMES
SORT_LABELS = {sort.name: sort.label for sort in surface.SORTS}
DEFAULT_SORT = surface.DEFAULT_SORT
MAX_VALUE = surface.MAX_VALUE
MAX_CURSOR = surface.MAX_CURSOR
PAGE_SIZE = 20


def _usable_sort(sort: str, filters: dict[str, str]) -> bool:
    """A fixed sort, or metric:NAME with a task to rank within."""
    return sort in SORTS or (surface.sorted_metric(sort) is not None and bool(filters.get("task")))


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)  # every name in FILTERS, tag included
    sort: str = DEFAULT_SORT
    cursor: str | None = None

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> SearchParams:
        """Unknown sorts fall back to the default and over-long values are cut: a hand-edited URL still works."""
        filters = {name: _clip(query.get(name)) for name in FILTERS if _clip(query.get(name))}
        sort = query.get("sort", DEFAULT_SORT)
        cursor = query.get("cursor") or None
        return cls(
            q=_clip(query.get("q")),
            filters=filters,
            sort=sort if _usable_sort(sort, filters) else DEFAULT_SORT,
            cursor=cursor[:MAX_CURSOR] if cursor else None,
        )

    def to_search(self, limit: int = PAGE_SIZE) -> SearchQuery:
        facets = {name: value for name, value in self.filters.items() if name in FACETS}
        return SearchQuery(
            q=self.q or None,
            filters=facets,
            tag=self.filters.get("tag"),
            sort=self.sort,
            limit=limit,
            cursor=self.cursor,
        )

    def url(self, **changes: str | None) -> str:
        """This search with some filters changed (None removes one); any change restarts at page one."""
        filters = {**self.filters, **{k: v for k, v in changes.items() if k in FILTERS}}
        changed = replace(
            self,
            filters={k: v for k, v in filters.items() if v},
            q=changes.get("q", self.q) or "",
            sort=changes.get("sort", self.sort) or DEFAULT_SORT,
            cursor=changes.get("cursor"),
        )
        return "/search" + changed.query_string()

    def toggle(self, name: str, value: str) -> str:
        return self.url(**{name: None if self.filters.get(name) == value else value})

    def query_string(self) -> str:
        pairs = [("q", self.q), *((name, self.filters.get(name, "")) for name in FILTERS)]
        pairs += [("sort", "" if self.sort == DEFAULT_SORT else self.sort), ("cursor", self.cursor or "")]
        encoded = urlencode([(k, v) for k, v in pairs if v])
        return f"?{encoded}" if encoded else ""

    @property
    def sort_labels(self) -> dict[str, str]:
        """The sort menu: the fixed sorts, and the metric sort this search uses, if any."""
        if self.sort in SORT_LABELS:
            return SORT_LABELS
        return {**SORT_LABELS, self.sort: surface.sort_label(self.sort)}

    @property
    def active(self) -> list[tuple[str, str]]:
        return [(name, self.filters[name]) for name in FILTERS if name in self.filters]


def _clip(value: str | None) -> str:
    return (value or "").strip()[:MAX_VALUE]
