"""Every bad input: a 4xx with a stable code and a message, and nothing stored (rows and storage keys unchanged)."""

from __future__ import annotations

import hashlib
import json
import pickle
import struct

import pytest

from tests.helpers import assert_error, declare, publish, start_upload, stored_state, tiny_lora_files, upload_missing


def _raw_safetensors(header: dict, data: bytes, length: int | None = None) -> bytes:
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded) if length is None else length) + encoded + data


def _tensor(dtype: str, shape: list[int], start: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [start, end]}


MALFORMED_SAFETENSORS = {
    "header longer than file": _raw_safetensors({}, b"", length=10_000),
    "absurd header length": struct.pack("<Q", 2**62) + b"{}",
    "invalid json": struct.pack("<Q", 8) + b'{"a": ][',
    "overlapping offsets": _raw_safetensors(
        {"a": _tensor("F32", [4], 0, 16), "b": _tensor("F32", [4], 8, 24)}, bytes(24)
    ),
    "offsets past the end": _raw_safetensors({"a": _tensor("F32", [4], 0, 16)}, bytes(8)),
    "unknown dtype": _raw_safetensors({"a": _tensor("Q7", [4], 0, 16)}, bytes(16)),
    "shape disagrees with bytes": _raw_safetensors({"a": _tensor("F32", [5], 0, 16)}, bytes(16)),
    "pickle disguised as safetensors": pickle.dumps({"weights": [1.0, 2.0]}, protocol=4),
}


@pytest.mark.parametrize("case", sorted(MALFORMED_SAFETENSORS))
def test_malformed_safetensors_is_refused_at_upload(client, app, alice, case):
    files = {**tiny_lora_files(), "adapter_model.safetensors": MALFORMED_SAFETENSORS[case]}
    before = stored_state(app)
    started = start_upload(client, alice, "alice/bad", files).json()
    weights = next(b for b in started["missing"] if b["path"] == "adapter_model.safetensors")
    response = client.put(weights["url"], content=files["adapter_model.safetensors"], headers=alice.headers)
    code = "PickleRefused" if "pickle" in case else "InvalidSafetensors"
    body = assert_error(response, 400, code)
    assert "adapter_model.safetensors" in body["message"]
    after = stored_state(app)
    assert after["blobs"] == before["blobs"] and not [k for k in after["keys"] if k.endswith(weights["sha256"])]
    assert client.get("/api/adapters/alice/bad").status_code == 404


@pytest.mark.parametrize("name", ["weights.bin", "adapter_model.bin", "model.pt", "state.pkl"])
def test_pickle_files_are_refused_before_upload(client, app, alice, name):
    files = {**tiny_lora_files(), name: pickle.dumps([1, 2, 3])}
    before = stored_state(app)
    body = assert_error(start_upload(client, alice, "alice/pickled", files), 400, "PickleRefused")
    assert name in body["message"]
    assert stored_state(app) == before


def test_digest_mismatch_stores_nothing(client, app, alice):
    files = tiny_lora_files()
    before = stored_state(app)
    started = start_upload(client, alice, "alice/liar", files).json()
    target = started["missing"][0]
    tampered = files[target["path"]][:-1] + b"!"
    body = assert_error(client.put(target["url"], content=tampered, headers=alice.headers), 400, "DigestMismatch")
    assert target["path"] in body["message"]
    assert stored_state(app) == before


def test_more_bytes_than_declared_is_refused(client, app, alice):
    files = tiny_lora_files()
    before = stored_state(app)
    started = start_upload(client, alice, "alice/long", files).json()
    target = started["missing"][0]
    response = client.put(target["url"], content=files[target["path"]] + b"extra", headers=alice.headers)
    assert_error(response, 400, "SizeMismatch")
    assert stored_state(app) == before


def test_file_over_the_size_limit_is_refused(client, app, alice, settings):
    files = tiny_lora_files()
    entries = declare(files)
    entries[0]["size"] = settings.max_file_bytes + 1
    entries[0]["path"] = "big.safetensors"
    before = stored_state(app)
    response = client.post("/api/adapters/alice/big/uploads", json={"files": entries}, headers=alice.headers)
    assert_error(response, 413, "FileTooLarge")
    assert stored_state(app) == before


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("a..b", "InvalidName"),
        ("na%00me", "InvalidName"),
        ("caf%C3%A9", "InvalidName"),
        ("-lead", "InvalidName"),
        ("x" * 97, "InvalidName"),
        ("a%2Fb", "NotFound"),
    ],
)
def test_bad_adapter_names(client, app, alice, name, code):
    before = stored_state(app)
    response = client.post(
        f"/api/adapters/alice/{name}/uploads", json={"files": declare(tiny_lora_files())}, headers=alice.headers
    )
    assert_error(response, 404 if code == "NotFound" else 400, code)
    assert stored_state(app) == before


@pytest.mark.parametrize("path", ["../evil.json", "/abs.json", "a\\b.json", ".hidden.json", "sub/../x.json", "é.json"])
def test_bad_file_paths(client, app, alice, path):
    files = {**tiny_lora_files(), path: b"{}"}
    assert_error(start_upload(client, alice, "alice/paths", files), 400, "InvalidPath")
    assert stored_state(app)["keys"] == []


def test_publishing_into_another_namespace_is_forbidden(client, app, alice, bob):
    before = stored_state(app)
    body = assert_error(start_upload(client, bob, "alice/stolen", tiny_lora_files()), 403, "Forbidden")
    assert "alice" in body["message"]
    assert_error(start_upload(client, bob, "nobody-yet/x", tiny_lora_files()), 403, "Forbidden")
    assert stored_state(app) == before


def test_missing_and_wrong_tokens(client, app):
    before = stored_state(app)
    payload = {"files": declare(tiny_lora_files())}
    assert_error(client.post("/api/adapters/alice/x/uploads", json=payload), 401, "AuthenticationRequired")
    wrong = {"Authorization": "Bearer hub_not-a-real-token"}
    assert_error(client.post("/api/adapters/alice/x/uploads", json=payload, headers=wrong), 401, "InvalidToken")
    assert stored_state(app) == before


def test_commit_naming_a_blob_never_uploaded(client, app, alice):
    files = tiny_lora_files()
    started = start_upload(client, alice, "alice/lazy", files).json()
    before = stored_state(app)
    response = client.post(started["commit_url"], json={"base_model": "tiny/llama-test"}, headers=alice.headers)
    body = assert_error(response, 400, "BlobMissing")
    assert "adapter_config.json" in body["message"] or "adapter_model.safetensors" in body["message"]
    assert stored_state(app) == before


def test_uploading_an_undeclared_blob(client, alice):
    started = start_upload(client, alice, "alice/undeclared", tiny_lora_files()).json()
    url = started["commit_url"].replace("/commit", "/blobs/" + hashlib.sha256(b"x").hexdigest())
    assert_error(client.put(url, content=b"x", headers=alice.headers), 400, "BlobMissing")


def _commit_error(client, app, alice, files, meta, status, code):
    started = start_upload(client, alice, "alice/inconsistent", files).json()
    upload_missing(client, alice, "alice/inconsistent", files, started)
    before = stored_state(app)
    response = client.post(started["commit_url"], json=meta, headers=alice.headers)
    body = assert_error(response, status, code)
    after = stored_state(app)
    assert (after["adapters"], after["versions"], after["files"]) == (0, 0, 0) and after == before
    return body


def test_config_without_peft_type(client, app, alice):
    files = {**tiny_lora_files(), "adapter_config.json": json.dumps({"r": 4}).encode()}
    _commit_error(client, app, alice, files, {"base_model": "tiny/llama-test"}, 400, "InvalidAdapterConfig")


def test_config_and_tensors_disagree(client, app, alice):
    files = tiny_lora_files()
    config = json.loads(files["adapter_config.json"])
    config["target_modules"] = ["k_proj"]  # the tensors are for q_proj and v_proj
    files["adapter_config.json"] = json.dumps(config).encode()
    body = _commit_error(client, app, alice, files, {"base_model": "tiny/llama-test"}, 400, "InconsistentAdapter")
    assert "q_proj" in body["message"] or "v_proj" in body["message"]


@pytest.mark.parametrize("base", ["/home/me/llama", "./checkpoints/base", "C:\\models\\llama", "~/llama"])
def test_local_path_as_base_model(client, app, alice, base):
    body = _commit_error(client, app, alice, tiny_lora_files(), {"base_model": base}, 400, "InvalidMetadata")
    assert "local path" in body["message"]


def test_json_of_the_wrong_types(client, app, alice):
    before = stored_state(app)
    cases = [{"files": "nope"}, {"files": [{"path": 1, "sha256": "x", "size": -1}]}, {"unexpected": True}]
    for payload in cases:
        response = client.post("/api/adapters/alice/types/uploads", json=payload, headers=alice.headers)
        assert_error(response, 422, "InvalidRequest")
    assert stored_state(app) == before


def test_the_server_keeps_serving_after_bad_input(client, alice):
    start_upload(client, alice, "alice/../x", tiny_lora_files())
    assert publish(client, alice, "alice/fine", tiny_lora_files()).status_code == 201
