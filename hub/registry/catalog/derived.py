"""The adapter row's derived columns, kept true in ONE place.

Search, listings and the API read an adapter's facets (base model, architecture, method, library, task),
card, time, `current_number` and the `main` tag from the adapter row, copied from its newest live version,
so a search reads one table. Every change that can alter them (publish, version and adapter deletion,
visibility, tag moves, re-publishing after a deletion) ends by calling `refresh()`, which recomputes them
all from the versions rather than adjusting what was there: nothing can drift.
"""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.registry.catalog.refs import MAIN_REF, point_ref
from hub.registry.models import Adapter, AdapterText, Version
from hub.registry.search.fulltext import document_text
from hub.registry.search.query import FACETS

FACETS_FROM_VERSION = ("base_model", "base_model_type", "method", "library", "task")
# Punctuation is stored as spaces so both engines index the same words: PostgreSQL's parser reads
# "tiny/llama-test" as ONE file-path token, so a search for "llama" would miss it there (not in FTS5).
_NOT_A_WORD = re.compile(r"[\W_]+")


def refresh(session: Session, adapter: Adapter) -> None:
    """Recompute every derived column of `adapter` from its live versions (and re-point `main`)."""
    session.flush()  # deletions and new versions of this transaction must be visible to the query below
    newest = newest_live_version(session, adapter)
    if newest is None:
        _clear(adapter)
        return
    point_ref(session, adapter, MAIN_REF, newest)
    adapter.current_number = newest.number
    adapter.updated_at = newest.created_at
    for facet in FACETS_FROM_VERSION:
        setattr(adapter, facet, getattr(newest, facet))
    _refresh_text(adapter, newest.card)


def newest_live_version(session: Session, adapter: Adapter) -> Version | None:
    query = (
        select(Version)
        .where(Version.adapter_id == adapter.id, Version.is_live)
        .order_by(Version.number.desc())
        .limit(1)
    )
    return session.scalar(query)


def _clear(adapter: Adapter) -> None:
    """No live version: the adapter itself is gone (deleting its last version deletes it)."""
    adapter.current_number = None
    for facet in FACETS_FROM_VERSION:
        setattr(adapter, facet, None)
    _refresh_text(adapter, "")


def _refresh_text(adapter: Adapter, card: str) -> None:
    if adapter.text is None:
        adapter.text = AdapterText()
    adapter.text.description = card
    adapter.text.search_text = search_text(adapter, [tag.tag for tag in adapter.tags])


def search_text(adapter: Adapter, tags: list[str]) -> str:
    """The full-text document: namespace, name, base model, task, tags and card as lower-case words, and the
    facet words of its facet values and tags (hub/registry/search/fulltext.py)."""
    namespace = adapter.namespace.name if adapter.namespace else ""
    parts = [namespace, adapter.name, adapter.base_model or "", adapter.task or "", " ".join(tags), adapter.description]
    facets = {name: getattr(adapter, column.key) for name, column in FACETS.items()}
    return document_text(_NOT_A_WORD.sub(" ", " ".join(parts).lower()).strip(), facets, tags)
