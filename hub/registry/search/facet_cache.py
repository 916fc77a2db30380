"""Facet counts and totals cached per hub process, valid for one catalogue generation.

Counting facets over a large catalogue costs tens of milliseconds; the same few queries (the home
page, a base model's page, popular filters) repeat constantly between publishes. An entry is keyed
by the generation it was computed at, so a publish on any replica makes every older entry unreachable:
nothing stale is ever served, and nothing another replica needs lives here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

MAX_ENTRIES = 2048


class FacetCache:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[Any, ...]) -> Any | None:
        with self._lock:
            value = self._entries.get(key)
            if value is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
