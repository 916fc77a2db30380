"""Deletion hides at once; `hub gc` reclaims exactly the unreferenced blobs; `hub fsck` finds corruption."""

from __future__ import annotations

from datetime import timedelta

from hub.maintenance.fsck import check_storage
from hub.maintenance.gc import collect_garbage
from hub.storage import blob_key
from tests.helpers import publish, start_upload, stored_state, tiny_lora_files, upload_missing


def _referenced_keys(client, adapters: list[str]) -> set[str]:
    keys = set()
    for adapter in adapters:
        for version in client.get(f"/api/adapters/{adapter}").json()["versions"]:
            detail = client.get(f"/api/adapters/{adapter}/versions/{version['revision']}").json()
            keys |= {blob_key(f["sha256"]) for f in detail["files"]}
    return keys


def test_delete_version_moves_main_back_and_hides_it(client, alice):
    publish(client, alice, "alice/lc", tiny_lora_files(seed=1))
    v2 = publish(client, alice, "alice/lc", tiny_lora_files(seed=2, rank=8)).json()
    client.put("/api/adapters/alice/lc/refs/stable", json={"revision": "v2"}, headers=alice.headers)
    assert client.delete("/api/adapters/alice/lc/versions/v2", headers=alice.headers).status_code == 204
    info = client.get("/api/adapters/alice/lc").json()
    assert info["refs"] == {"main": "v1"} and [v["version"] for v in info["versions"]] == ["v1"]
    assert info["latest_version"] == "v1"  # the newest LIVE version (issue 17 item 2)
    assert client.get(f"/api/adapters/alice/lc/versions/{v2['revision']}").status_code == 404
    v3 = publish(client, alice, "alice/lc", tiny_lora_files(seed=3)).json()
    assert v3["version"] == "v3"  # numbers are never reused
    assert client.get("/api/adapters", params={"q": "lc"}).json()["adapters"][0]["id"] == "alice/lc"


def test_deleted_adapter_disappears_and_its_name_is_free(client, alice):
    publish(client, alice, "alice/gone", tiny_lora_files(seed=1))
    assert client.delete("/api/adapters/alice/gone", headers=alice.headers).status_code == 204
    assert client.get("/api/adapters/alice/gone").status_code == 404
    assert client.get("/api/adapters", params={"q": "gone"}).json()["total"] == 0
    again = publish(client, alice, "alice/gone", tiny_lora_files(seed=5))
    assert again.status_code == 201 and again.json()["version"] == "v1"


def test_gc_leaves_exactly_the_referenced_blobs(app, client, alice):
    publish(client, alice, "alice/keep", tiny_lora_files(seed=1))
    publish(client, alice, "alice/drop", tiny_lora_files(seed=2))
    publish(client, alice, "alice/keep", tiny_lora_files(seed=3))
    client.delete("/api/adapters/alice/keep/versions/v1", headers=alice.headers)
    client.delete("/api/adapters/alice/drop", headers=alice.headers)
    files = tiny_lora_files(seed=4)  # an abandoned upload: blobs in, never committed
    upload_missing(
        client, alice, "alice/abandoned", files, start_upload(client, alice, "alice/abandoned", files).json()
    )
    state = app.state
    young = collect_garbage(state.session_factory, state.storage, grace=timedelta(hours=1), dry_run=False)
    assert young.blobs == [] and young.purged_versions == 0  # everything is inside the grace period
    dry = collect_garbage(state.session_factory, state.storage, grace=timedelta(0), dry_run=True)
    before = stored_state(app)
    assert dry.blobs and before["keys"] == stored_state(app)["keys"]
    done = collect_garbage(state.session_factory, state.storage, grace=timedelta(0), dry_run=False)
    assert sorted(done.blobs) == sorted(dry.blobs) and done.purged_adapters == 1
    blob_keys = {k for k in stored_state(app)["keys"] if k.startswith("blobs/")}
    assert blob_keys == _referenced_keys(client, ["alice/keep"])
    assert client.get("/api/adapters/alice/keep/versions/main/files/adapter_model.safetensors").status_code == 200
    assert check_storage(state.session_factory, state.storage).ok


def test_fsck_finds_a_corrupted_and_a_missing_blob(app, client, alice):
    version = publish(client, alice, "alice/fsck", tiny_lora_files(seed=1)).json()
    storage = app.state.storage
    weights = next(f for f in version["files"] if f["path"] == "adapter_model.safetensors")
    card = next(f for f in version["files"] if f["path"] == "README.md")
    original = b"".join(storage.iter_range(blob_key(weights["sha256"])))
    storage.put_bytes(blob_key(weights["sha256"]), original[:-1] + bytes([original[-1] ^ 1]))  # one flipped bit
    storage.delete(blob_key(card["sha256"]))
    report = check_storage(app.state.session_factory, storage)
    assert report.corrupt == [weights["sha256"]] and report.missing == [card["sha256"]] and not report.ok
    quick = check_storage(app.state.session_factory, storage, rehash=False)
    assert quick.corrupt == [] and quick.missing == [card["sha256"]]  # same size: only a re-hash sees it


def test_a_publish_repairs_a_blob_storage_lost(app, client, alice):
    files = tiny_lora_files(seed=7)
    version = publish(client, alice, "alice/repair", files).json()
    weights = next(f for f in version["files"] if f["path"] == "adapter_model.safetensors")
    app.state.storage.delete(blob_key(weights["sha256"]))  # the bytes are gone; the row remains
    assert check_storage(app.state.session_factory, app.state.storage).missing == [weights["sha256"]]
    started = start_upload(client, alice, "alice/repair", files).json()
    assert [blob["sha256"] for blob in started["missing"]] == [weights["sha256"]]  # asked for again
    upload_missing(client, alice, "alice/repair", files, started)
    assert check_storage(app.state.session_factory, app.state.storage).ok
    url = "/api/adapters/alice/repair/versions/v1/files/adapter_model.safetensors"
    assert client.get(url).content == files["adapter_model.safetensors"]  # v1 is whole again


def test_a_tag_is_deleted_over_the_api_and_main_is_kept(client, alice, bob):
    publish(client, alice, "alice/tagged", tiny_lora_files(seed=1))
    client.put("/api/adapters/alice/tagged/refs/stable", json={"revision": "v1"}, headers=alice.headers)
    assert client.delete("/api/adapters/alice/tagged/refs/stable", headers=bob.headers).status_code == 403
    assert client.delete("/api/adapters/alice/tagged/refs/stable", headers=alice.headers).status_code == 204
    assert client.get("/api/adapters/alice/tagged").json()["refs"] == {"main": "v1"}
    assert client.delete("/api/adapters/alice/tagged/refs/main", headers=alice.headers).status_code == 400
    assert client.delete("/api/adapters/alice/tagged/refs/stable", headers=alice.headers).status_code == 404
