"""Cached facet counts are never stale: every visible change bumps the catalogue generation, on any replica."""

from __future__ import annotations

from fastapi.testclient import TestClient

from hub.app import create_app
from tests.helpers import publish, tiny_lora_files


def _methods(client, headers=None) -> dict[str, int]:
    body = client.get("/api/adapters", headers=headers or {}).json()
    return {f["value"]: f["count"] for f in body["facets"]["method"]} | {"total": body["total"]}


def test_counts_follow_publish_visibility_and_deletion(app, client, alice):
    publish(client, alice, "alice/one", tiny_lora_files(seed=1))
    assert _methods(client) == {"lora": 1, "total": 1}
    assert _methods(client) == {"lora": 1, "total": 1}  # served from the cache
    assert app.state.facet_cache.hits >= 1
    publish(client, alice, "alice/two", tiny_lora_files(seed=2))
    assert _methods(client) == {"lora": 2, "total": 2}
    client.patch("/api/adapters/alice/two", json={"private": True}, headers=alice.headers)
    assert _methods(client) == {"lora": 1, "total": 1}
    assert _methods(client, alice.headers) == {"lora": 2, "total": 2}  # the owner's own view
    client.delete("/api/adapters/alice/one", headers=alice.headers)
    assert _methods(client) == {"total": 0}


def test_a_publish_on_another_replica_invalidates_this_ones_cache(app, client, alice, settings):
    publish(client, alice, "alice/first", tiny_lora_files(seed=1))
    other = create_app(settings)  # a second hub process on the same database and storage
    try:
        with TestClient(other) as replica:
            assert _methods(replica) == {"lora": 1, "total": 1}  # warms the replica's cache
            publish(client, alice, "alice/second", tiny_lora_files(seed=2))  # through the first replica
            assert _methods(replica) == {"lora": 2, "total": 2}
    finally:
        other.state.engine.dispose()
