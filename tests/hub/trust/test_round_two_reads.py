"""Issue 18 items 16 and 17: private adapters answer exactly like missing ones, by the same code path, and
deleted versions are not shown anywhere."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from tests.helpers import assert_error, publish, tiny_lora_files


def statements_of(app, client, url: str) -> list[str]:
    """The SQL statements one request runs, literals stripped: the code path, observed deterministically
    (a timing test would be at the mercy of the machine's load)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many) -> None:
        seen.append(re.sub(r"\s+", " ", statement))

    event.listen(app.state.engine, "before_cursor_execute", record)
    try:
        client.get(url, headers={"Accept": "application/json"})
    finally:
        event.remove(app.state.engine, "before_cursor_execute", record)
    return seen


@pytest.mark.parametrize(
    "template",
    [
        "/api/adapters/alice/{name}",
        "/api/adapters/alice/{name}/versions/main",
        "/api/adapters/alice/{name}/versions/main/files/adapter_config.json",
        "/api/models/alice/{name}",
        "/alice/{name}/resolve/main/adapter_config.json",
        "/alice/{name}",
    ],
)
def test_a_private_adapter_takes_the_same_path_as_a_missing_one(app, client, alice, template):
    assert publish(client, alice, "alice/hidden", tiny_lora_files(seed=1), private=True).status_code == 201
    private, missing = template.format(name="hidden"), template.format(name="absent")
    assert client.get(private).status_code == client.get(missing).status_code == 404
    assert client.get(private).text.replace("hidden", "absent") == client.get(missing).text  # same but the name
    assert statements_of(app, client, private) == statements_of(app, client, missing)


def test_lineage_hides_a_deleted_source_version(client, alice):
    publish(client, alice, "alice/source", tiny_lora_files(seed=1))
    v2 = publish(client, alice, "alice/source", tiny_lora_files(seed=2)).json()
    lineage = [{"adapter": "alice/source", "revision": v2["revision"], "weight": 1.0}]
    assert publish(client, alice, "alice/merged", tiny_lora_files(seed=3), lineage=lineage).status_code == 201
    assert client.get("/api/adapters/alice/merged").json()["lineage"][0]["revision"] == v2["revision"]
    assert client.delete("/api/adapters/alice/source/versions/v2", headers=alice.headers).status_code == 204
    shown = client.get("/api/adapters/alice/merged").json()["lineage"]
    assert shown == [{"adapter": None, "revision": None, "version": None, "weight": 1.0}]
    page = client.get("/alice/merged", headers={"Accept": "text/html"}).text
    assert v2["revision"] not in page and v2["revision"][:12] not in page


def test_a_deleted_version_cannot_be_named_as_a_source(client, alice):
    publish(client, alice, "alice/source", tiny_lora_files(seed=1))
    v2 = publish(client, alice, "alice/source", tiny_lora_files(seed=2)).json()
    client.delete("/api/adapters/alice/source/versions/v2", headers=alice.headers)
    lineage = [{"adapter": "alice/source", "revision": v2["revision"], "weight": 1.0}]
    assert_error(
        publish(client, alice, "alice/merged", tiny_lora_files(seed=3), lineage=lineage), 400, "InvalidMetadata"
    )
