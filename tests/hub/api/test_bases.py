"""Registered bases over the JSON API, on both backends: register, read, list, the adapters declared for a base,
the adapter answer's share of its base, and the refusals (each 4xx with its code, nothing stored)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sdk.bases import describe_base, side_files
from tests.base_models import TINY_LLAMA_PARAMETERS, saved_folders, tiny_llama
from tests.fixtures.hub import make_org
from tests.helpers import assert_error, publish, stored_state, tiny_lora_files

BASE_ID = "alice/tiny-llama"


@pytest.fixture(scope="module")
def registration(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """POST /api/bases's body for the sharded tiny Llama, as Hub.register_base builds it."""
    _, sharded = saved_folders(tiny_llama(), tmp_path_factory.mktemp("bases"))
    return describe_base(sharded) | {"id": BASE_ID, "revision": "main", "files": side_files(Path(sharded))}


def _register(client, account, body: dict[str, Any]):
    return client.post("/api/bases", json=body, headers=account.headers)


def test_a_registered_base_reads_back_and_lists(client, alice, registration):
    posted = _register(client, alice, registration)
    assert posted.status_code == 201, posted.text
    read = client.get(f"/api/bases/{BASE_ID}").json()
    assert read == client.get(f"/api/bases/{BASE_ID}?revision=main").json() == posted.json()
    for key in ("total_parameters", "total_bytes", "fingerprint", "num_layers", "hidden_size", "vocab_size", "dtype"):
        assert read[key] == registration[key]
    assert read["structure"] == registration["structure"] and read["modules"] == len(
        registration["structure"]["modules"]
    )
    assert set(read["files"]) == {"config.json", "generation_config.json"}
    listed = client.get("/api/bases").json()["bases"]
    assert [(b["id"], b["revision"], b["total_parameters"]) for b in listed] == [
        (BASE_ID, "main", TINY_LLAMA_PARAMETERS)
    ]
    assert "structure" not in listed[0]
    head = client.head(f"/api/bases/{BASE_ID}")
    assert head.status_code == 200 and head.content == b"" and head.headers["ETag"] == read_etag(client)
    assert_error(client.get(f"/api/bases/{BASE_ID}?revision=v2"), 404, "NotFound")
    assert_error(client.get("/api/bases/alice/other"), 404, "NotFound")


def test_registering_stores_no_bytes_in_storage(app, client, alice, registration):
    before = stored_state(app)
    assert _register(client, alice, registration).status_code == 201
    assert stored_state(app) == before  # no blob row, no storage key: the weights never came


def test_the_adapter_answer_shows_its_share_of_a_registered_base(client, alice, registration):
    _register(client, alice, registration)
    publish(client, alice, "alice/fits", tiny_lora_files(), base_model=BASE_ID)
    publish(client, alice, "alice/elsewhere", tiny_lora_files())  # tests/helpers.py's base: not registered
    version = client.get("/api/adapters/alice/fits/versions/main").json()
    base = client.get("/api/adapters/alice/fits").json()["base"]
    share = version["trainable_params"] / registration["total_parameters"]
    assert base["registered"] is True and base["share"] == pytest.approx(share)
    assert base["base_parameters"] == registration["total_parameters"]
    assert base["base_bytes"] == registration["total_bytes"]
    assert base["text"] == f"{100 * share:.2g}% of 90.4 k parameters; {_kb(version['total_bytes'])} vs 361.7 KB"
    assert client.get("/api/adapters/alice/elsewhere").json()["base"] == {
        "registered": False,
        "text": "base not registered",
    }


def test_the_adapters_of_a_base_follow_search_visibility(client, alice, bob, registration):
    _register(client, alice, registration)
    publish(client, alice, "alice/public-fit", tiny_lora_files(), base_model=BASE_ID)
    publish(client, alice, "alice/hidden-fit", tiny_lora_files(seed=1), base_model=BASE_ID, private=True)
    publish(client, alice, "alice/other-base", tiny_lora_files(seed=2))
    anonymous = client.get(f"/api/bases/{BASE_ID}/adapters").json()
    owner = client.get(f"/api/bases/{BASE_ID}/adapters", headers=alice.headers).json()
    assert [a["id"] for a in anonymous["adapters"]] == ["alice/public-fit"] and anonymous["total"] == 1
    assert sorted(a["id"] for a in owner["adapters"]) == ["alice/hidden-fit", "alice/public-fit"]
    assert client.get(f"/api/bases/{BASE_ID}/adapters", headers=bob.headers).json()["total"] == 1


def test_refusals_leave_nothing_behind(app, client, alice, bob, registration):
    make_org(app, "acme", "alice", {"bob": "read"})
    before = stored_state(app)
    assert_error(client.post("/api/bases", json=registration), 401, "AuthenticationRequired")
    assert_error(_register(client, bob, registration), 403, "Forbidden")  # alice's namespace
    assert_error(_register(client, bob, registration | {"id": "acme/tiny"}), 403, "Forbidden")  # a reader only
    assert_error(_register(client, alice, registration | {"id": "nobody/tiny"}), 404, "NamespaceNotFound")
    assert_error(_register(client, alice, registration | {"fingerprint": "x"}), 422, "InvalidRequest")
    assert_error(_register(client, alice, registration | {"weights": "AAAA"}), 422, "InvalidRequest")
    assert_error(_register(client, alice, registration | {"files": {"model.safetensors": {}}}), 422, "InvalidRequest")
    bad_structure = registration | {"structure": {"modules": {"x": ["bogus", 1, 2]}}}
    assert_error(_register(client, alice, bad_structure), 422, "InvalidRequest")
    assert stored_state(app) == before and client.get("/api/bases").json()["bases"] == []
    assert _register(client, alice, registration).status_code == 201
    assert_error(_register(client, alice, registration), 409, "VersionConflict")  # one row per (id, revision)


def read_etag(client) -> str:
    return client.get(f"/api/bases/{BASE_ID}").headers["ETag"]


def _kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"
