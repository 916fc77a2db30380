"""Issue 17 items 6 and 15: the Quickstart's search finds the demo data through base-model aliases, and the
project's docs stand on their own (its design in docs/architecture.md, nothing pointing outside the repository)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdk.formats.search_surface import base_model_ids
from tests.helpers import publish, tiny_lora_files

ROOT = Path(__file__).parents[1]
SHIPPED = ["README.md", *[str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")]]


@pytest.mark.parametrize("path", SHIPPED)
def test_no_document_sends_a_reader_outside_the_repository(path):
    text = (ROOT / path).read_text()
    assert not re.search(r"\.\./shared|shared/(ARCHITECTURE|docs)", text), f"{path} points outside the repository"


def test_the_architecture_page_names_where_each_rule_lives():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for home in ("hub/accounts/permissions.py", "visible_to", "derived.py", "sdk/formats/names.py", "search_surface"):
        assert home in text
    assert "docs/architecture.md" in (ROOT / "README.md").read_text()


def test_renamed_base_ids_are_aliases_both_ways():
    assert set(base_model_ids("gpt2")) == {"gpt2", "openai-community/gpt2"}
    assert set(base_model_ids("openai-community/gpt2")) == {"gpt2", "openai-community/gpt2"}
    assert base_model_ids("tiny/llama-test") == ("tiny/llama-test",)


def test_the_quickstart_search_finds_the_demo_adapter_by_its_old_base_id(client):
    from hub.demo import load_demo

    app = client.app
    load_demo(app.state.session_factory, app.state.storage, app.state.limits)
    found = client.get("/api/adapters", params={"q": "sst2", "base_model": "gpt2"}).json()
    assert [a["id"] for a in found["adapters"]] == ["demo/gpt2-sst2-lora"]
    assert found["adapters"][0]["base_model"] == "openai-community/gpt2"


def test_an_adapter_published_for_the_old_id_is_found_by_the_new_one(client, alice):
    assert publish(client, alice, "alice/old-id", tiny_lora_files(seed=1), base_model="gpt2").status_code == 201
    found = client.get("/api/adapters", params={"base_model": "openai-community/gpt2"}).json()["adapters"]
    assert [a["id"] for a in found] == ["alice/old-id"]
