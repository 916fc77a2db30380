"""The full-text part of search, on the index each engine has (made by migration 0003).

A query is split into words (letters and digits); every word must match the start of a word in
the adapter's name, namespace, base model, task, tags or model card: "summ" finds "summarization",
"sql" finds "text-to-sql". Words are passed as data, never as query syntax, so no input can
inject FTS operators.

The document also holds one facet word per facet value and tag (`facet_word`), so a search that
combines words with filters is answered by the full-text index alone, which intersects its lists
(migration 0020): looking up every adapter that matches the words, then filtering, read thousands
of rows at 100k adapters for a page of 20.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, text

from hub.registry.models import Adapter, AdapterText

MAX_TERMS = 8
_WORD_RE = re.compile(r"[^\W_]+")
# One letter per filter of the search surface; a facet word is FACET_WORD + letter + the value's UTF-8 in hex.
FACET_WORD = "zzf"
_FACET_LETTERS = {"base_model": "b", "task": "t", "architecture": "a", "method": "m", "library": "l", "license": "c"}
_FACET_LETTERS["tag"] = "g"
# Any alternative of a group will do; every group must match (a base model's aliases make one group).
FacetGroups = Sequence[Sequence[tuple[str, str]]]  # (facet, value) pairs


def facet_word(facet: str, value: str) -> str:
    """One word for facet=value, whatever the value holds (migration 0020 writes the same words in SQL)."""
    return f"{FACET_WORD}{_FACET_LETTERS[facet]}{value.encode().hex()}"


def document_text(words: str, facets: Mapping[str, str | None], tags: Iterable[str]) -> str:
    """The full-text document: the words people search, then the facet words of the adapter's values and tags."""
    pairs = [(name, value) for name, value in facets.items() if value] + [("tag", tag) for tag in tags]
    return " ".join([words, *(facet_word(name, value) for name, value in pairs)]).strip()


def query_words(q: str | None) -> list[str]:
    return _WORD_RE.findall((q or "").lower())[:MAX_TERMS]


def matches(dialect: str, words: list[str], groups: FacetGroups = ()) -> ColumnElement[bool]:
    """Adapters whose document has every word as a prefix and, from each group, one of its facet words."""
    facet_words = [[facet_word(facet, value) for facet, value in group] for group in groups]
    if dialect == "sqlite":
        return _sqlite_match(words, facet_words)
    if dialect == "postgresql":
        return _postgres_match(words, facet_words)
    return _portable_match(words, facet_words)


def _sqlite_match(words: list[str], groups: list[list[str]]) -> ColumnElement[bool]:
    terms = [f'"{word}"*' for word in words]  # quoted: a word is a string, never an operator
    terms += ["(" + " OR ".join(f'"{word}"' for word in group) + ")" for group in groups]
    expression = " AND ".join(terms)
    hits = (
        select(literal_column("rowid"))
        .select_from(text("adapters_fts"))
        .where(text("adapters_fts MATCH :fts_query").bindparams(fts_query=expression))
    )
    return Adapter.id.in_(hits)


def _postgres_match(words: list[str], groups: list[list[str]]) -> ColumnElement[bool]:
    terms = [f"{word}:*" for word in words] + ["(" + " | ".join(group) + ")" for group in groups]
    tsquery = " & ".join(terms)
    document = literal_column("adapter_texts.search_vector")  # stored and GIN-indexed (migration 0007)
    hits = select(AdapterText.adapter_id).where(document.op("@@")(func.to_tsquery(literal_column("'simple'"), tsquery)))
    return Adapter.id.in_(hits)


def _portable_match(words: list[str], groups: list[list[str]]) -> ColumnElement[bool]:
    texts = [AdapterText.search_text.contains(word, autoescape=True) for word in words]
    texts += [or_(*(AdapterText.search_text.contains(word) for word in group)) for group in groups]
    return Adapter.id.in_(select(AdapterText.adapter_id).where(and_(*texts)))
