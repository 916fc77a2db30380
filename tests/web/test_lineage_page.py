"""A merged adapter's page lists its sources; a source the viewer cannot read shows only its weight."""

from __future__ import annotations

from tests.helpers import publish, tiny_lora_files


def _lineage(client, alice, source: str, weight: float) -> dict:
    version = client.get(f"/api/adapters/{source}/versions/main", headers=alice.headers).json()
    return {"adapter": source, "revision": version["revision"], "version": version["version"], "weight": weight}


def test_merged_adapter_page_shows_visible_sources_only(client, alice):
    publish(client, alice, "alice/source-a", tiny_lora_files(seed=1))
    publish(client, alice, "alice/source-b", tiny_lora_files(seed=2), private=True)
    lineage = [_lineage(client, alice, "alice/source-a", 0.7), _lineage(client, alice, "alice/source-b", 0.3)]
    merged = publish(client, alice, "alice/merged", tiny_lora_files(seed=3), lineage=lineage)
    assert merged.status_code == 201, merged.text
    owner_view = client.get("/api/adapters/alice/merged", headers=alice.headers).json()["lineage"]
    assert [source["adapter"] for source in owner_view] == ["alice/source-a", "alice/source-b"]
    public_view = client.get("/alice/merged").text
    assert "Merged from" in public_view and "alice/source-a" in public_view and "0.7" in public_view
    assert "alice/source-b" not in public_view and "an adapter you cannot see" in public_view
    assert "Merged from" not in client.get("/alice/source-a").text
