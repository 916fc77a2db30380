"""The full-text part of search, on the index each engine has (made by migration 0003).

A query is split into words (letters and digits); every word must match the start of a word in
the adapter's name, namespace, base model, task, tags or model card: "summ" finds "summarization",
"sql" finds "text-to-sql". Words are passed as data, never as query syntax, so no input can
inject FTS operators.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, and_, func, literal_column, select, text

from hub.registry.models import Adapter, AdapterText

MAX_TERMS = 8
_WORD_RE = re.compile(r"[^\W_]+")


def query_words(q: str | None) -> list[str]:
    return _WORD_RE.findall((q or "").lower())[:MAX_TERMS]


def matches(dialect: str, words: list[str]) -> ColumnElement[bool]:
    if dialect == "sqlite":
        return _sqlite_match(words)
    if dialect == "postgresql":
        return _postgres_match(words)
    return _portable_match(words)


def _sqlite_match(words: list[str]) -> ColumnElement[bool]:
    expression = " ".join(f'"{word}"*' for word in words)  # quoted: a word is a string, never an operator
    hits = (
        select(literal_column("rowid"))
        .select_from(text("adapters_fts"))
        .where(text("adapters_fts MATCH :fts_query").bindparams(fts_query=expression))
    )
    return Adapter.id.in_(hits)


def _postgres_match(words: list[str]) -> ColumnElement[bool]:
    tsquery = " & ".join(f"{word}:*" for word in words)
    document = literal_column("adapter_texts.search_vector")  # stored and GIN-indexed (migration 0007)
    hits = select(AdapterText.adapter_id).where(document.op("@@")(func.to_tsquery(literal_column("'simple'"), tsquery)))
    return Adapter.id.in_(hits)


def _portable_match(words: list[str]) -> ColumnElement[bool]:
    texts = [AdapterText.search_text.contains(word, autoescape=True) for word in words]
    return Adapter.id.in_(select(AdapterText.adapter_id).where(and_(*texts)))
