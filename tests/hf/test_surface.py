"""The Hugging Face HTTP surface itself, byte for byte and header for header (hf-protocol.md sections 3-6),
through the whole app (API routers and web UI mounted), on both backends."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from huggingface_hub.utils.sha import git_hash

from hub.storage import blob_key
from tests.fixtures.hub import Account
from tests.helpers import flush_downloads, publish, tiny_lora_files

REPO = "alice/demo"
CONFIG_URL = f"/{REPO}/resolve/main/adapter_config.json"
WEIGHTS = "adapter_model.safetensors"


@pytest.fixture
def files() -> dict[str, bytes]:
    return {**tiny_lora_files(seed=3), "docs/usage.md": b"# usage\n", "docs/more/notes.txt": b"notes\n"}


@pytest.fixture
def v1(client: TestClient, alice: Account, files: dict[str, bytes]) -> dict[str, Any]:
    response = publish(client, alice, REPO, files, license="mit", tags=["demo"])
    assert response.status_code == 201, response.text
    return response.json()


def downloads(client: TestClient) -> int:
    flush_downloads(client)
    return client.get(f"/api/adapters/{REPO}").json()["downloads"]


def test_resolve_works_with_the_web_ui_mounted(client: TestClient, v1: dict[str, Any], files: dict[str, bytes]) -> None:
    response = client.get(CONFIG_URL)
    assert response.status_code == 200 and response.content == files["adapter_config.json"]


@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_resolve_headers(client: TestClient, v1: dict[str, Any], files: dict[str, bytes], method: str) -> None:
    response = client.request(method, f"/{REPO}/resolve/main/{WEIGHTS}", headers={"Accept-Encoding": "gzip"})
    data = files[WEIGHTS]
    assert response.status_code == 200
    assert response.headers["X-Repo-Commit"] == v1["revision"] and len(v1["revision"]) == 40
    assert response.headers["ETag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert response.headers["Content-Length"] == str(len(data))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Content-Encoding" not in response.headers
    assert not [name for name in response.headers if name.lower().startswith("x-xet")]
    assert response.content == (data if method == "GET" else b"")


def test_ranges(client: TestClient, v1: dict[str, Any], files: dict[str, bytes]) -> None:
    data, url = files[WEIGHTS], f"/{REPO}/resolve/main/{WEIGHTS}"
    clipped = client.get(url, headers={"Range": "bytes=0-100000"})
    assert clipped.status_code == 206 and clipped.content == data
    assert clipped.headers["Content-Range"] == f"bytes 0-{len(data) - 1}/{len(data)}"
    resumed = client.get(url, headers={"Range": "bytes=100-"})
    assert resumed.status_code == 206 and resumed.content == data[100:]
    assert resumed.headers["Content-Length"] == str(len(data) - 100)
    outside = client.get(url, headers={"Range": f"bytes={len(data)}-"})
    assert outside.status_code == 416 and outside.headers["X-Error-Code"] == "RangeNotSatisfiable"


def test_every_kind_of_revision_resolves(client: TestClient, alice: Account, v1: dict[str, Any]) -> None:
    assert client.put(f"/api/adapters/{REPO}/refs/stable", json={"revision": "v1"}, headers=alice.headers).is_success
    for revision in ["main", "stable", "v1", v1["revision"], v1["revision"][:7]]:
        response = client.head(f"/{REPO}/resolve/{revision}/adapter_config.json")
        assert response.status_code == 200 and response.headers["X-Repo-Commit"] == v1["revision"], revision


@pytest.mark.parametrize(
    ("url", "code", "commit"),
    [
        ("/alice/missing/resolve/main/adapter_config.json", "RepoNotFound", False),
        ("/nobody/demo/resolve/main/adapter_config.json", "RepoNotFound", False),
        (f"/{REPO}/resolve/v7/adapter_config.json", "RevisionNotFound", False),
        # %2F stays inside the revision (Starlette would split it into path segments before routing).
        (f"/{REPO}/resolve/refs%2Fpr%2F1/adapter_config.json", "RevisionNotFound", False),
        (f"/{REPO}/resolve/main/adapter_model.bin", "EntryNotFound", True),
        (f"/{REPO}/resolve/main/docs", "EntryNotFound", True),
    ],
)
@pytest.mark.parametrize("method", ["HEAD", "GET"])
def test_errors_carry_the_codes_clients_map(
    client: TestClient, v1: dict[str, Any], url: str, code: str, commit: bool, method: str
) -> None:
    response = client.request(method, url)
    assert response.status_code == 404 and response.headers["X-Error-Code"] == code
    assert response.headers["X-Error-Message"]
    # With the commit, the client remembers the absence (.no_exist/<commit>/) instead of asking again.
    assert response.headers.get("X-Repo-Commit") == (v1["revision"] if commit else None)
    if method == "GET":
        assert response.json()["error"] == response.headers["X-Error-Message"]


def test_head_is_answered_without_reading_storage(
    app: FastAPI, client: TestClient, v1: dict[str, Any], files: dict[str, bytes]
) -> None:
    app.state.storage.delete(blob_key(hashlib.sha256(files[WEIGHTS]).hexdigest()))
    response = client.head(f"/{REPO}/resolve/main/{WEIGHTS}")
    assert response.status_code == 200 and response.headers["Content-Length"] == str(len(files[WEIGHTS]))


def test_downloads_count_once_per_config_fetch(client: TestClient, v1: dict[str, Any]) -> None:
    before = downloads(client)
    client.head(CONFIG_URL)
    client.get(f"/{REPO}/resolve/main/{WEIGHTS}")
    client.get(CONFIG_URL, headers={"Range": "bytes=10-20"})
    assert downloads(client) == before
    client.get(CONFIG_URL)
    assert downloads(client) == before + 1


def test_unknown_tokens_read_public_adapters(client: TestClient, v1: dict[str, Any]) -> None:
    response = client.get(CONFIG_URL, headers={"Authorization": "Bearer hf_notAnAdapterHubToken"})
    assert response.status_code == 200
    assert client.get(f"/api/models/{REPO}", headers={"Authorization": "Bearer hf_x"}).status_code == 200


def test_private_adapters_answer_like_missing_ones(
    client: TestClient, alice: Account, bob: Account, files: dict[str, bytes]
) -> None:
    assert publish(client, alice, "alice/secret", files, private=True).status_code == 201
    for headers in [{}, bob.headers, {"Authorization": "Bearer nonsense"}]:
        for url in ["/alice/secret/resolve/main/adapter_config.json", "/api/models/alice/secret"]:
            response = client.get(url, headers=headers)
            assert response.status_code == 404 and response.headers["X-Error-Code"] == "RepoNotFound"
    assert client.get("/alice/secret/resolve/main/adapter_config.json", headers=alice.headers).status_code == 200
    assert client.get("/api/models/alice/secret", headers=alice.headers).json()["private"] is True


@pytest.mark.parametrize("blobs", ["true", "True"])  # 0.x clients send Python's spelling
def test_model_info(client: TestClient, v1: dict[str, Any], files: dict[str, bytes], blobs: str) -> None:
    plain = client.get(f"/api/models/{REPO}").json()
    assert plain["id"] == plain["modelId"] == REPO and plain["sha"] == v1["revision"]
    assert sorted(sibling["rfilename"] for sibling in plain["siblings"]) == sorted(files)
    assert plain["cardData"] == {
        "base_model": "tiny/llama-test",
        "library_name": "peft",
        "license": "mit",
        "tags": ["lora", "demo"],
        "pipeline_tag": "text-generation",
    }
    assert plain["lastModified"].endswith("Z") and plain["private"] is False and plain["gated"] is False
    detailed = client.get(f"/api/models/{REPO}/revision/v1", params={"blobs": blobs}).json()
    for sibling in detailed["siblings"]:
        data = files[sibling["rfilename"]]
        assert sibling["size"] == len(data) and sibling["lfs"]["sha256"] == hashlib.sha256(data).hexdigest()
        assert sibling["lfs"]["size"] == len(data) and sibling["lfs"]["pointerSize"] > 100


def test_model_info_errors(client: TestClient, v1: dict[str, Any]) -> None:
    for url, code in [
        ("/api/models/alice/missing", "RepoNotFound"),
        ("/api/models/alice/missing/revision/main", "RepoNotFound"),
        (f"/api/models/{REPO}/revision/v9", "RevisionNotFound"),
        (f"/api/models/{REPO}/revision/refs%2Fpr%2F1", "RevisionNotFound"),
    ]:
        response = client.get(url)
        assert response.status_code == 404 and response.headers["X-Error-Code"] == code, url


def test_tree_entries_are_lfs_files_with_git_oids(
    client: TestClient, v1: dict[str, Any], files: dict[str, bytes]
) -> None:
    entries = client.get(f"/api/models/{REPO}/tree/main", params={"recursive": "true"}).json()
    by_path = {entry["path"]: entry for entry in entries}
    assert {path for path, e in by_path.items() if e["type"] == "directory"} == {"docs", "docs/more"}
    for path, data in files.items():
        entry, sha256 = by_path[path], hashlib.sha256(data).hexdigest()
        pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n".encode()
        # huggingface_hub's own git hash, on the LFS pointer that stands for the file in git.
        assert entry["oid"] == git_hash(pointer) and entry["size"] == len(data)
        assert entry["lfs"] == {"oid": sha256, "size": len(data), "pointerSize": len(pointer)}
        assert "xetHash" not in entry


def test_tree_levels_and_subfolders(client: TestClient, v1: dict[str, Any]) -> None:
    def paths(url: str, **params: str) -> list[str]:
        return [entry["path"] for entry in client.get(url, params=params).json()]

    assert paths(f"/api/models/{REPO}/tree/main") == ["README.md", "adapter_config.json", WEIGHTS, "docs"]
    assert paths(f"/api/models/{REPO}/tree/main/docs") == ["docs/more", "docs/usage.md"]
    assert paths(f"/api/models/{REPO}/tree/{v1['revision']}/docs%2Fmore") == ["docs/more/notes.txt"]
    missing = client.get(f"/api/models/{REPO}/tree/main/nope")
    assert missing.status_code == 404 and missing.headers["X-Error-Code"] == "EntryNotFound"


def test_tree_pagination_links_are_absolute(client: TestClient, v1: dict[str, Any]) -> None:
    full = client.get(f"/api/models/{REPO}/tree/main", params={"recursive": "true"}).json()
    url: str | None = f"http://testserver/api/models/{REPO}/tree/main?recursive=true&limit=2"
    pages: list[list[dict[str, Any]]] = []
    while url:
        response = client.get(url)
        pages.append(response.json())
        url = response.links.get("next", {}).get("url")
        assert url is None or url.startswith("http://testserver/api/models/")
    assert [entry for page in pages for entry in page] == full and len(pages) == 4


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("HEAD", "/api/telemetry/hf_hub/download"),
        ("GET", "/api/agent-harnesses"),
        ("GET", f"/api/models/{REPO}/xet-read-token/main"),
    ],
)
def test_probes_of_unserved_endpoints_get_404(client: TestClient, method: str, url: str) -> None:
    response = client.request(method, url)
    assert response.status_code == 404 and response.headers["X-Error-Code"] == "NotFound"
