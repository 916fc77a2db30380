"""Search answers the same whichever plan reads it (docs/performance.md, "Search"), on both engines.

A search matching few adapters asks the full-text index for its words, facet filters and tag in one match
(the facet words of hub/registry/search/fulltext.py); one matching many reads the sort's index in order and
tests each row's columns. Both plans must give the same pages, and the facet words migration 0020 writes
in SQL must be the words the hub writes itself.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select, text

from hub.models import AdapterText
from hub.registry.search import query as search_query
from tests.helpers import publish, tiny_lora_files

MIGRATION = Path(__file__).parents[3] / "migrations" / "versions" / "0020_search_facet_words.py"

CATALOGUE = [
    ("alice/sql-helper", {"task": "text-to-sql", "license": "mit", "tags": ["sql", "english"]}),
    ("alice/sql-gpt2", {"base_model": "openai-community/gpt2", "task": "text-to-sql", "tags": ["sql"]}),
    ("alice/news-sum", {"task": "summarization", "license": "apache-2.0", "tags": ["french"]}),
    ("bob/sql-secret", {"task": "text-to-sql", "private": True, "tags": ["sql"]}),
    ("bob/sql-gone", {"task": "text-to-sql", "tags": ["sql"]}),
]
QUERIES = [
    {"task": "text-to-sql"},
    {"task": "text-to-sql", "q": "sql"},
    {"tag": "sql", "q": "helper"},
    {"base_model": "gpt2"},  # an alias of openai-community/gpt2
    {"base_model": "gpt2", "q": "sql"},
    {"license": "mit", "tag": "english"},
    {"architecture": "llama", "method": "lora", "library": "peft", "sort": "name"},
    {"q": "sql", "sort": "recent"},
    {"q": "sql", "sort": "name", "limit": "1"},
    {"task": "no-such-task", "q": "sql"},
    {"q": "---"},
    {},
]


@pytest.fixture
def catalogue(client, alice, bob):
    for seed, (name, meta) in enumerate(CATALOGUE):
        owner = alice if name.startswith("alice/") else bob
        files = tiny_lora_files(seed=seed)
        del files["README.md"]
        assert publish(client, owner, name, files, description=f"{name} adapter", **meta).status_code == 201
    assert client.delete("/api/adapters/bob/sql-gone", headers=bob.headers).status_code == 204


def _pages(client, params: dict[str, str], headers: dict[str, str]) -> list[list[str]]:
    """Every page of the search, following cursors: the ids on each page."""
    pages, params = [], dict(params)
    while True:
        response = client.get("/api/adapters", params=params, headers=headers)
        assert response.status_code == 200, response.text
        pages.append([adapter["id"] for adapter in response.json()["adapters"]])
        if not response.json()["next_cursor"]:
            return pages
        params["cursor"] = response.json()["next_cursor"]


def _answers(client, monkeypatch, walk_from: int, headers: dict[str, str]) -> list[list[list[str]]]:
    monkeypatch.setattr(search_query, "WALK_SORT_INDEX_FROM", walk_from)
    return [_pages(client, params, headers) for params in QUERIES]


@pytest.mark.parametrize("viewer", ["anonymous", "bob"])
def test_the_full_text_plan_and_the_sort_index_plan_give_the_same_pages(client, catalogue, bob, monkeypatch, viewer):
    headers = bob.headers if viewer == "bob" else {}
    by_full_text = _answers(client, monkeypatch, 10**9, headers)
    by_sort_index = _answers(client, monkeypatch, 0, headers)
    assert by_full_text == by_sort_index
    found = dict(zip([str(sorted(q.items())) for q in QUERIES], by_full_text, strict=True))
    sql_tasks = sorted(["alice/sql-helper", "alice/sql-gpt2"] + (["bob/sql-secret"] if viewer == "bob" else []))
    pages = found[str(sorted({"task": "text-to-sql"}.items()))]
    assert sorted(adapter for page in pages for adapter in page) == sql_tasks
    assert found[str(sorted({"base_model": "gpt2"}.items()))] == [["alice/sql-gpt2"]]
    assert found[str(sorted({"license": "mit", "tag": "english"}.items()))] == [["alice/sql-helper"]]
    assert found[str(sorted({"task": "no-such-task", "q": "sql"}.items()))] == [[]]
    assert found[str(sorted({"q": "---"}.items()))] == [[]]
    assert all(len(page) <= 1 for page in found[str(sorted({"q": "sql", "sort": "name", "limit": "1"}.items()))])


def _documents(app) -> dict[int, set[str]]:
    with app.state.session_factory() as session:
        return {row.adapter_id: set(row.search_text.split()) for row in session.scalars(select(AdapterText))}


def test_migration_0020_writes_the_facet_words_the_hub_writes(app, catalogue):
    written_by_hub = _documents(app)
    assert any(word.startswith("zzf") for words in written_by_hub.values() for word in words)
    spec = importlib.util.spec_from_file_location("migration_0020", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with app.state.engine.begin() as connection:
        for adapter_id, words in written_by_hub.items():  # the documents as they were before 0020
            before = " ".join(word for word in sorted(words) if not word.startswith("zzf"))
            connection.execute(
                text("UPDATE adapter_texts SET search_text = :t WHERE adapter_id = :i"), {"t": before, "i": adapter_id}
            )
        connection.execute(text(migration._facet_words_sql(connection.dialect.name)))
    assert _documents(app) == written_by_hub
