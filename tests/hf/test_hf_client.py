"""Conformance with the real huggingface_hub, current (2.x) and oldest common 0.x, against a live hub on
both backends: downloads, snapshots, existence checks, model info, safetensors headers, the client cache
and revision pinning. Each test's client runs in fresh processes with HF_ENDPOINT set (see conftest)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.hub import Account
from tests.hf.conftest import HfClient, RequestLog, publish_folder

REPO = "alice/tiny-lora"
ADAPTER_FILES = ["adapter_config.json", "adapter_model.safetensors"]


def sha256s(files: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


@pytest.fixture
def v1(hf_hub: str, alice: Account, lora_files: list[dict[str, bytes]]) -> dict[str, Any]:
    return publish_folder(hf_hub, alice.token, REPO, lora_files[0], tags=["hf-test"])


def test_client_version_is_the_one_under_test(hf_client: HfClient, hf_hub: str) -> None:
    assert hf_client.call(hf_hub, "version") == hf_client.expected_version


def test_download_is_byte_identical_and_second_download_is_served_from_cache(
    hf_client: HfClient, hf_hub: str, request_log: RequestLog, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    expected = sha256s(lora_files[0])
    for name in ADAPTER_FILES:
        first = hf_client.call(hf_hub, "download", repo_id=REPO, filename=name)
        assert first["sha256"] == expected[name] and first["commit"] == v1["revision"]
    request_log.clear()
    again = hf_client.call(hf_hub, "download", repo_id=REPO, filename="adapter_model.safetensors")
    assert again["sha256"] == expected["adapter_model.safetensors"]
    # A warm cache asks only for the metadata (HEAD); the bytes come from the client's cache.
    assert [seen.method for seen in request_log.resolves()] == ["HEAD"]
    request_log.clear()
    pinned = hf_client.call(hf_hub, "download", repo_id=REPO, filename="adapter_config.json", revision=v1["revision"])
    assert pinned["sha256"] == expected["adapter_config.json"]
    assert request_log.resolves() == []  # a 40-hex revision already in the cache needs no request at all


def test_snapshot_download_lists_and_fetches_every_file_once(
    hf_client: HfClient, hf_hub: str, request_log: RequestLog, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    snapshot = hf_client.call(hf_hub, "snapshot", repo_id=REPO)
    assert snapshot == {"folder": v1["revision"], "files": sha256s(lora_files[0])}
    gets = sorted(seen.path.rsplit("/", 1)[-1] for seen in request_log.resolves("GET"))
    assert gets == sorted(lora_files[0])
    request_log.clear()
    assert hf_client.call(hf_hub, "snapshot", repo_id=REPO, revision=v1["revision"])["files"] == snapshot["files"]
    assert request_log.resolves("GET") == []


def test_snapshot_with_allow_patterns_and_local_dir(
    hf_client: HfClient, hf_hub: str, v1: dict[str, Any], lora_files: list[dict[str, bytes]], tmp_path: Path
) -> None:
    local = tmp_path / "adapter"
    snapshot = hf_client.call(hf_hub, "snapshot", repo_id=REPO, allow_patterns=ADAPTER_FILES, local_dir=str(local))
    assert snapshot["files"] == {name: sha256s(lora_files[0])[name] for name in ADAPTER_FILES}


def test_exists_checks_answer_true_and_false(hf_client: HfClient, hf_hub: str, v1: dict[str, Any]) -> None:
    calls = [
        {"op": "file_exists", "kwargs": {"repo_id": REPO, "filename": "adapter_config.json"}},
        {"op": "file_exists", "kwargs": {"repo_id": REPO, "filename": "adapter_model.bin"}},
        {"op": "file_exists", "kwargs": {"repo_id": "alice/missing", "filename": "adapter_config.json"}},
        {"op": "file_exists", "kwargs": {"repo_id": REPO, "filename": "adapter_config.json", "revision": "v9"}},
        {"op": "file_exists", "kwargs": {"repo_id": REPO, "filename": "README.md", "revision": "v1"}},
        {"op": "repo_exists", "kwargs": {"repo_id": REPO}},
        {"op": "repo_exists", "kwargs": {"repo_id": "alice/missing"}},
        {"op": "repo_exists", "kwargs": {"repo_id": "nobody/missing"}},
    ]
    results = hf_client.run(hf_hub, calls)
    assert [result.get("ok") for result in results] == [True, False, False, False, True, True, False, False], results


@pytest.mark.parametrize(
    ("repo_id", "revision", "filename", "error"),
    [
        ("alice/missing", "main", "adapter_config.json", "RepositoryNotFoundError"),
        (REPO, "no-such-tag", "adapter_config.json", "RevisionNotFoundError"),
        (REPO, "main", "adapter_model.bin", "EntryNotFoundError"),
    ],
)
def test_download_errors_map_to_the_client_exceptions(
    hf_client: HfClient, hf_hub: str, v1: dict[str, Any], repo_id: str, revision: str, filename: str, error: str
) -> None:
    failure = hf_client.error(hf_hub, "download", repo_id=repo_id, filename=filename, revision=revision)
    assert error in failure["bases"], failure


def test_model_info_with_and_without_revision(
    hf_client: HfClient, hf_hub: str, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    info = hf_client.call(hf_hub, "model_info", repo_id=REPO)
    assert info["id"] == REPO and info["sha"] == v1["revision"] and info["private"] is False
    assert sorted(s["rfilename"] for s in info["siblings"]) == sorted(lora_files[0])
    assert info["library_name"] == "peft" and info["pipeline_tag"] == "text-generation"
    assert {"peft", "lora", "base_model:adapter:tiny/llama-test", "hf-test", "license:apache-2.0"} <= set(info["tags"])
    assert info["card_data"]["base_model"] == "tiny/llama-test" and info["card_data"]["library_name"] == "peft"
    assert info["card_data"]["license"] == "apache-2.0" and info["last_modified"].startswith("20")
    assert info["safetensors_total"] > 0
    detailed = hf_client.call(hf_hub, "model_info", repo_id=REPO, revision=v1["revision"][:7], files_metadata=True)
    assert detailed["sha"] == v1["revision"]
    expected = {path: (len(data), hashlib.sha256(data).hexdigest()) for path, data in lora_files[0].items()}
    assert {s["rfilename"]: (s["size"], s["lfs_sha256"]) for s in detailed["siblings"]} == expected


def test_parse_safetensors_file_metadata_reads_the_header_with_a_range(
    hf_client: HfClient, hf_hub: str, request_log: RequestLog, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    weights = lora_files[0]["adapter_model.safetensors"]
    (length,) = struct.unpack("<Q", weights[:8])
    header = json.loads(weights[8 : 8 + length])
    expected = {
        name: {"dtype": t["dtype"], "shape": t["shape"]} for name, t in header.items() if name != "__metadata__"
    }
    found = hf_client.call(hf_hub, "safetensors_header", repo_id=REPO, filename="adapter_model.safetensors")
    assert found == expected and len(found) == 8  # 2 layers x (q, v) x (A, B)
    ranged = request_log.resolves("GET", "adapter_model.safetensors")
    assert ranged and all(seen.status == 206 and "range" in seen.request_headers for seen in ranged)


def test_revision_pinning_returns_the_old_version_after_a_new_one(
    hf_client: HfClient, hf_hub: str, alice: Account, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    old, new = sha256s(lora_files[0]), sha256s(lora_files[1])
    assert old["adapter_model.safetensors"] != new["adapter_model.safetensors"]
    weights = {"repo_id": REPO, "filename": "adapter_model.safetensors"}
    assert hf_client.call(hf_hub, "download", **weights)["sha256"] == old["adapter_model.safetensors"]
    v2 = publish_folder(hf_hub, alice.token, REPO, lora_files[1])
    calls = [
        {"op": "download", "kwargs": weights},
        {"op": "download", "kwargs": {**weights, "revision": v1["revision"]}},
        {"op": "download", "kwargs": {**weights, "revision": "v1"}},
        {"op": "snapshot", "kwargs": {"repo_id": REPO, "revision": v1["revision"]}},
        {"op": "snapshot", "kwargs": {"repo_id": REPO}},
    ]
    latest, by_commit, by_number, old_snapshot, new_snapshot = (result["ok"] for result in hf_client.run(hf_hub, calls))
    assert latest == {**latest, "sha256": new["adapter_model.safetensors"], "commit": v2["revision"]}
    assert by_commit["sha256"] == by_number["sha256"] == old["adapter_model.safetensors"]
    assert old_snapshot == {"folder": v1["revision"], "files": old}
    assert new_snapshot == {"folder": v2["revision"], "files": new}


def test_tree_listing_of_nested_files(
    hf_client: HfClient, hf_hub: str, alice: Account, lora_files: list[dict[str, bytes]]
) -> None:
    files = {**lora_files[0], "docs/usage.md": b"# usage\n", "docs/more/notes.txt": b"notes\n"}
    publish_folder(hf_hub, alice.token, "alice/nested", files)
    flat = hf_client.call(hf_hub, "list_tree", repo_id="alice/nested")
    assert [(e["type"], e["path"]) for e in flat if e["type"] == "RepoFolder"] == [("RepoFolder", "docs")]
    deep = hf_client.call(hf_hub, "list_tree", repo_id="alice/nested", recursive=True)
    assert sorted(e["path"] for e in deep if e["type"] == "RepoFile") == sorted(files)
    assert {e["path"] for e in deep if e["type"] == "RepoFolder"} == {"docs", "docs/more"}
    assert hf_client.call(hf_hub, "snapshot", repo_id="alice/nested")["files"] == sha256s(files)


def test_unknown_token_still_reads_public_adapters(hf_client: HfClient, hf_hub: str, v1: dict[str, Any]) -> None:
    # A huggingface.co token stored on the user's machine is sent to any HF_ENDPOINT.
    (result,) = hf_client.run(hf_hub, [{"op": "snapshot", "kwargs": {"repo_id": REPO}}], HF_TOKEN="hf_" + "x" * 34)
    assert result["ok"]["folder"] == v1["revision"]


def test_endpoint_argument_without_environment(
    hf_client: HfClient, hf_hub: str, v1: dict[str, Any], lora_files: list[dict[str, bytes]]
) -> None:
    calls = [
        {"op": "download", "kwargs": {"repo_id": REPO, "filename": "adapter_config.json", "endpoint": hf_hub}},
        {"op": "snapshot", "kwargs": {"repo_id": REPO, "endpoint": hf_hub, "allow_patterns": ADAPTER_FILES}},
    ]
    download, snapshot = (result["ok"] for result in hf_client.run(None, calls))
    assert download["sha256"] == sha256s(lora_files[0])["adapter_config.json"]
    assert set(snapshot["files"]) == set(ADAPTER_FILES)


def test_private_adapter_is_missing_without_its_owners_token(
    hf_client: HfClient, hf_hub: str, alice: Account, bob: Account, lora_files: list[dict[str, bytes]]
) -> None:
    publish_folder(hf_hub, alice.token, "alice/secret", lora_files[0], private=True)
    probe = [{"op": "repo_exists", "kwargs": {"repo_id": "alice/secret"}}]
    assert hf_client.run(hf_hub, probe)[0]["ok"] is False
    assert hf_client.run(hf_hub, probe, HF_TOKEN=bob.token)[0]["ok"] is False
    assert hf_client.run(hf_hub, probe, HF_TOKEN=alice.token)[0]["ok"] is True
    owned = hf_client.run(hf_hub, [{"op": "snapshot", "kwargs": {"repo_id": "alice/secret"}}], HF_TOKEN=alice.token)
    assert owned[0]["ok"]["files"] == sha256s(lora_files[0])


def test_no_response_carries_xet_headers_or_compression(
    hf_client: HfClient, hf_hub: str, request_log: RequestLog, v1: dict[str, Any]
) -> None:
    hf_client.call(hf_hub, "snapshot", repo_id=REPO)
    assert request_log.resolves()
    for seen in request_log.entries:
        assert not [name for name in seen.headers if name.startswith("x-xet")], seen
        assert "xet-auth" not in seen.headers.get("link", "")
        if "/resolve/" in seen.path:
            assert "content-encoding" not in seen.headers and len(seen.headers["x-repo-commit"]) == 40


def test_hf_command_line_download(
    hf_client: HfClient, hf_hub: str, v1: dict[str, Any], lora_files: list[dict[str, bytes]], tmp_path: Path
) -> None:
    files = hf_client.call(hf_hub, "cli_download", repo_id=REPO, revision="v1", local_dir=str(tmp_path / "cli"))
    assert files == sha256s(lora_files[0])
