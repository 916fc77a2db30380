"""Trust, round two (issue 18 item 15): a tag may not be spelled like a version number or a revision id.

Tags resolve before numbers and revision prefixes, so a tag named after the first 12 hex of v1 and pointing at v2
would make every client that pinned that prefix get v2. Both backends (the `client` fixture is per backend).
"""

from __future__ import annotations

import pytest

from tests.helpers import assert_error, publish, tiny_lora_files

REPO = "alice/pinned"


@pytest.fixture
def versions(client, alice) -> tuple[dict, dict]:
    v1 = publish(client, alice, REPO, tiny_lora_files(seed=1))
    v2 = publish(client, alice, REPO, tiny_lora_files(seed=2, rank=8))
    assert v1.status_code == v2.status_code == 201, (v1.text, v2.text)
    return v1.json(), v2.json()


def _resolve(client, revision: str) -> str:
    response = client.get(f"/api/adapters/{REPO}/versions/{revision}")
    assert response.status_code == 200, response.text
    return response.json()["version"]


def _shadows(v1: dict) -> dict[str, str]:
    revision = v1["revision"]
    return {
        "12-hex prefix of v1": revision[:12],
        "7-hex prefix of v1": revision[:7],
        "full revision of v1": revision,
        "upper-case prefix of v1": revision[:12].upper(),
        "version number": "v1",
        "upper-case version number": "V1",
        "a version not yet published": "v7",
    }


def test_a_tag_spelled_like_a_revision_or_version_is_refused(client, alice, versions: tuple[dict, dict]) -> None:
    v1, v2 = versions
    for label, tag in _shadows(v1).items():
        moved = client.put(f"/api/adapters/{REPO}/refs/{tag}", json={"revision": "v2"}, headers=alice.headers)
        body = assert_error(moved, 400, "InvalidName")
        assert "revision id" in body["message"], label
    assert _resolve(client, v1["revision"][:12]) == "v1"  # the pinned prefix still names v1
    assert _resolve(client, v1["revision"][:7]) == "v1"
    assert _resolve(client, "v1") == "v1"
    assert client.get(f"/api/adapters/{REPO}").json()["refs"] == {"main": "v2"}  # no tag was written
    assert v2["version"] == "v2"


def test_ordinary_tags_with_hex_letters_or_a_v_still_work(client, alice, versions: tuple[dict, dict]) -> None:
    # Too short for a revision prefix, or not only hex / not only v + digits: not shadowing anything.
    for tag in ("cafe", "beef42", "v1-rc", "v1.0", "stable", "deadbeefz"):
        moved = client.put(f"/api/adapters/{REPO}/refs/{tag}", json={"revision": "v1"}, headers=alice.headers)
        assert moved.status_code == 200, (tag, moved.text)
        assert _resolve(client, tag) == "v1"
