"""Lineage of merged adapters: stored with the version, shown in its API record and the adapter's, checked at
commit (missing adapter, foreign revision, private adapter the publisher cannot read: the same 400), and
hidden from viewers who cannot read a source."""

from __future__ import annotations

from tests.helpers import assert_error, publish, stored_state, tiny_lora_files


def _source(client, account, name: str, seed: int, **meta) -> dict:
    response = publish(client, account, name, tiny_lora_files(seed=seed), **meta)
    assert response.status_code == 201, response.text
    return response.json()


def _entry(name: str, source: dict, weight: float, **extra) -> dict:
    return {"adapter": name, "revision": source["revision"], "weight": weight, **extra}


def test_lineage_is_stored_and_shown_on_version_and_adapter(client, alice, bob):
    first = _source(client, alice, "alice/code", 1)
    second = _source(client, bob, "bob/french", 2)
    lineage = [_entry("alice/code", first, 0.7), _entry("bob/french", second, 0.3, version="v1")]
    merged = publish(client, alice, "alice/merged", tiny_lora_files(seed=3), lineage=lineage)
    assert merged.status_code == 201, merged.text
    expected = [
        {"adapter": "alice/code", "revision": first["revision"], "version": "v1", "weight": 0.7},
        {"adapter": "bob/french", "revision": second["revision"], "version": "v1", "weight": 0.3},
    ]
    assert merged.json()["lineage"] == expected
    revision = merged.json()["revision"]
    assert client.get(f"/api/adapters/alice/merged/versions/{revision}").json()["lineage"] == expected
    assert client.get("/api/adapters/alice/merged").json()["lineage"] == expected
    # Not merges: an empty list.
    assert client.get("/api/adapters/alice/code/versions/v1").json()["lineage"] == []
    assert client.get("/api/adapters/alice/code").json()["lineage"] == []
    # A later plain version: the adapter shows the latest version's lineage, the merged version keeps its own.
    assert publish(client, alice, "alice/merged", tiny_lora_files(seed=4)).status_code == 201
    assert client.get("/api/adapters/alice/merged").json()["lineage"] == []
    assert client.get("/api/adapters/alice/merged/versions/v1").json()["lineage"] == expected


def test_bad_sources_are_refused_and_nothing_is_stored(client, alice, bob):
    mine = _source(client, alice, "alice/code", 1)
    other = _source(client, alice, "alice/other", 2)
    secret = _source(client, bob, "bob/secret", 3, private=True)
    cases = {
        "missing": [_entry("alice/nothing-here", mine, 1.0)],
        "private": [_entry("bob/secret", secret, 1.0)],
        "foreign revision": [_entry("alice/code", other, 1.0)],
        "wrong version label": [_entry("alice/code", mine, 1.0, version="v2")],
    }
    messages = {}
    before = stored_state(client.app)
    for case, lineage in cases.items():
        response = publish(client, alice, "alice/merged", tiny_lora_files(seed=9), lineage=lineage)
        messages[case] = assert_error(response, 400, "InvalidMetadata")["message"]
    after = stored_state(client.app)
    assert {key: after[key] for key in ("adapters", "versions", "files")} == {
        key: before[key] for key in ("adapters", "versions", "files")
    }
    assert client.get("/api/adapters/alice/merged").status_code == 404
    # A private adapter the publisher cannot read answers exactly as a missing one.
    assert messages["private"] == messages["missing"].replace("alice/nothing-here", "bob/secret")
    assert "alice/code has no version with revision" in messages["foreign revision"]
    assert "is v1, not v2" in messages["wrong version label"]
    malformed = publish(client, alice, "alice/merged", tiny_lora_files(seed=9), lineage=[{"adapter": "alice/code"}])
    assert malformed.status_code == 422


def test_private_source_readable_by_publisher_is_hidden_from_others(client, alice, bob):
    secret = _source(client, alice, "alice/secret", 1, private=True)
    public = _source(client, alice, "alice/public", 2)
    lineage = [_entry("alice/secret", secret, 0.5), _entry("alice/public", public, 0.5)]
    assert publish(client, alice, "alice/merged", tiny_lora_files(seed=3), lineage=lineage).status_code == 201
    shown_to_alice = client.get("/api/adapters/alice/merged", headers=alice.headers).json()["lineage"]
    assert [entry["adapter"] for entry in shown_to_alice] == ["alice/secret", "alice/public"]
    for headers in (bob.headers, {}):
        shown = client.get("/api/adapters/alice/merged/versions/v1", headers=headers).json()["lineage"]
        assert shown[0] == {"adapter": None, "revision": None, "version": None, "weight": 0.5}
        assert shown[1]["adapter"] == "alice/public"
        assert "secret" not in str(client.get("/api/adapters/alice/merged", headers=headers).json())
