"""Full-text search semantics on both engines (FTS5 on SQLite, GIN tsvector on PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.helpers import publish, tiny_lora_files


def _without_card(seed: int) -> dict[str, bytes]:
    files = tiny_lora_files(seed=seed)
    del files["README.md"]  # so the description given at publish is the model card
    return files


def _ids(client, q: str) -> list[str]:
    response = client.get("/api/adapters", params={"q": q})
    assert response.status_code == 200, response.text
    return sorted(a["id"] for a in response.json()["adapters"])


@pytest.fixture
def catalogue(client, alice):
    publish(
        client,
        alice,
        "alice/sql-helper",
        _without_card(1),
        tags=["text-to-sql"],
        description="Turns questions into SQL queries.",
    )
    publish(
        client,
        alice,
        "alice/summarizer",
        _without_card(2),
        task="summarization",
        description="Résumés of news articles, in French.",
    )


def test_words_match_word_prefixes_case_insensitively(client, catalogue):
    assert _ids(client, "summ") == ["alice/summarizer"]
    assert _ids(client, "QUERIES") == ["alice/sql-helper"]
    assert _ids(client, "sql") == ["alice/sql-helper"]  # from the name, the tag and the card
    assert _ids(client, "alice") == ["alice/sql-helper", "alice/summarizer"]
    assert _ids(client, "alice news") == ["alice/summarizer"]  # every word must match
    assert _ids(client, "resumes") == ["alice/summarizer"] or _ids(client, "résumés") == ["alice/summarizer"]


@pytest.mark.parametrize("q", ['"', "*", "sql OR x", "NEAR(sql", "'; DROP TABLE adapters; --", "\\", "%", "_", "---"])
def test_query_syntax_is_never_interpreted(client, catalogue, q):
    ids = _ids(client, q)
    assert ids in ([], ["alice/sql-helper"])  # words are data: "sql OR x" needs both "sql" and "x"
    assert client.get("/api/adapters/alice/sql-helper").status_code == 200  # and nothing was dropped


def test_a_new_version_reindexes_the_card(client, alice, catalogue):
    publish(client, alice, "alice/sql-helper", _without_card(3), description="Now about Postgres dialects.")
    assert _ids(client, "postgres") == ["alice/sql-helper"]
    assert _ids(client, "questions") == []  # the old card is no longer indexed


def test_deleted_adapters_are_not_found(client, alice, catalogue):
    client.delete("/api/adapters/alice/summarizer", headers=alice.headers)
    assert _ids(client, "summ") == []
