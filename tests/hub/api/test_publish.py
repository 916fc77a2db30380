"""Publish over HTTP on both backends: versions, dedup, refs, and the crash-before-commit case."""

from __future__ import annotations

import re

from tests.helpers import publish, start_upload, stored_state, tiny_lora_files, upload_missing


def test_publish_creates_v1_with_main_and_derived_facts(client, alice):
    response = publish(client, alice, "alice/tiny-lora", tiny_lora_files(), task="text-generation", license="mit")
    assert response.status_code == 201, response.text
    version = response.json()
    assert version["version"] == "v1" and re.fullmatch(r"[0-9a-f]{40}", version["revision"])
    assert version["refs"] == ["main"]
    assert version["method"] == "lora" and version["library"] == "peft"
    assert version["rank"] == 4 and version["target_modules"] == ["q_proj", "v_proj"]
    # 2 layers x (q: 4*64 + 64*4, v: 4*64 + 32*4) parameters, all from the safetensors header
    assert version["trainable_params"] == 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4)
    assert "model.layers.0.self_attn.q_proj" in str(version["facts"])
    assert {f["path"] for f in version["files"]} == {"adapter_config.json", "adapter_model.safetensors", "README.md"}


def test_second_version_of_same_bytes_stores_no_new_blob(client, app, alice):
    files = tiny_lora_files()
    assert publish(client, alice, "alice/dedup", files).status_code == 201
    before = stored_state(app)
    started = start_upload(client, alice, "alice/dedup", files).json()
    assert started["missing"] == []  # the hub already has every blob
    body = {"base_model": "tiny/llama-test", "allow_unchanged": True}  # identical: no version unless asked
    second = client.post(started["commit_url"], json=body, headers=alice.headers)
    assert second.status_code == 201 and second.json()["version"] == "v2"
    after = stored_state(app)
    assert after["blobs"] == before["blobs"] and after["keys"] == before["keys"]
    assert after["versions"] == before["versions"] + 1
    assert second.json()["revision"] != client.get("/api/adapters/alice/dedup/versions/v1").json()["revision"]


def test_only_changed_files_are_uploaded(client, alice):
    files = tiny_lora_files()
    publish(client, alice, "alice/partial", files)
    changed = {**files, "README.md": b"# a better card\n"}
    started = start_upload(client, alice, "alice/partial", changed).json()
    assert [blob["path"] for blob in started["missing"]] == ["README.md"]


def test_versions_resolve_by_number_revision_prefix_and_tags(client, alice):
    v1 = publish(client, alice, "alice/revs", tiny_lora_files(seed=1)).json()
    v2 = publish(client, alice, "alice/revs", tiny_lora_files(seed=2, rank=8)).json()
    get = lambda rev: client.get(f"/api/adapters/alice/revs/versions/{rev}")  # noqa: E731
    assert get("main").json()["version"] == "v2"
    assert get("v1").json()["revision"] == v1["revision"]
    assert get(v2["revision"]).json()["version"] == "v2"
    assert get(v1["revision"][:10]).json()["version"] == "v1"
    moved = client.put("/api/adapters/alice/revs/refs/stable", json={"revision": "v1"}, headers=alice.headers)
    assert moved.status_code == 200, moved.text
    assert get("stable").json()["version"] == "v1"
    info = client.get("/api/adapters/alice/revs").json()
    assert info["refs"] == {"main": "v2", "stable": "v1"}
    assert [v["version"] for v in info["versions"]] == ["v2", "v1"]


def test_upload_without_commit_leaves_no_visible_version(client, app, alice):
    """A client that dies between blob upload and commit: blobs may exist, no version ever does."""
    files = tiny_lora_files()
    started = start_upload(client, alice, "alice/crashy", files).json()
    upload_missing(client, alice, "alice/crashy", files, started)  # ... then the client stops
    assert client.get("/api/adapters/alice/crashy").status_code == 404
    assert client.get("/api/adapters", params={"q": "crashy"}).json()["total"] == 0
    state = stored_state(app)
    assert state["versions"] == 0 and state["adapters"] == 0 and state["blobs"] == 3
    assert not [key for key in state["keys"] if key.startswith("uploads/")]  # no staged leftovers
    retry = publish(client, alice, "alice/crashy", files)  # a later publish still works, uploading nothing
    assert retry.status_code == 201 and stored_state(app)["blobs"] == 3


def test_committing_twice_is_refused(client, alice):
    files = tiny_lora_files()
    started = start_upload(client, alice, "alice/twice", files).json()
    upload_missing(client, alice, "alice/twice", files, started)
    body = {"base_model": "tiny/llama-test"}
    assert client.post(started["commit_url"], json=body, headers=alice.headers).status_code == 201
    again = client.post(started["commit_url"], json=body, headers=alice.headers)
    assert again.status_code == 409 and again.headers["X-Error-Code"] == "UploadClosed"


def test_base_model_defaults_from_config_and_model_card_from_readme(client, alice):
    started = start_upload(client, alice, "alice/defaults", tiny_lora_files()).json()
    upload_missing(client, alice, "alice/defaults", tiny_lora_files(), started)
    version = client.post(started["commit_url"], json={}, headers=alice.headers).json()
    assert version["base_model"] == "tiny/llama-test"  # from base_model_name_or_path
    assert version["task"] == "text-generation"  # from task_type CAUSAL_LM
    assert version["card"].startswith("---\nbase_model: tiny/llama-test")
