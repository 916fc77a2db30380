"""Upstream pass-through: a fixture server speaking the Hugging Face protocol (upstream_server.py) holds a tiny
Llama saved by transformers; with HF_ENDPOINT at the hub, the base comes through the hub from the upstream and the
adapter from the hub itself, in one fresh process, and again with the upstream stopped (from the hub's cache)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import torch

from tests.fixtures.hub import Account
from tests.hf.conftest import client_env, publish_folder
from tests.hf.upstream_server import Repo, Upstream, running

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

BASE = "org/base"
COMMIT = "c0ffee" * 6 + "c0ff"
UPSTREAM_TOKEN = "upstream-secret-token"
REPO = "alice/llama-lora"
PEFT_CLIENT = Path(__file__).with_name("peft_client.py")
TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def upstream_base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.sdk.formats.models import tiny_llama

    folder = tmp_path_factory.mktemp("upstream-base")
    tiny_llama(vocab_size=2000).save_pretrained(folder)  # 2000 tokens: weights of about 1.4 MB
    return folder


@pytest.fixture
def upstream(upstream_base_dir: Path) -> Iterator[Upstream]:
    with running(Upstream({BASE: Repo.from_folder(upstream_base_dir, COMMIT)})) as serving:
        yield serving


@pytest.fixture
def app(settings, upstream: Upstream):
    from hub.app import create_app

    configured = settings.model_copy(update={"upstream_url": upstream.url, "upstream_token": UPSTREAM_TOKEN})
    application = create_app(configured)
    yield application
    application.state.engine.dispose()


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


def _logits(model) -> torch.Tensor:
    from tests.hf.peft_client import INPUT_IDS

    with torch.no_grad():
        return model.eval()(input_ids=INPUT_IDS).logits


def _load_through_hub(home: Path, hub_url: str, token: str) -> torch.Tensor:
    """AutoModelForCausalLM.from_pretrained(BASE) + PeftModel.from_pretrained(base, REPO) in one fresh process,
    HF_ENDPOINT at the hub, the caller's hub token in HF_TOKEN (so the client sends it with every request)."""
    out = home / "logits.pt"
    spec = {"how": "hf_endpoint", "base": BASE, "repo_id": REPO, "hub_url": hub_url, "out": str(out)}
    env = client_env(home, hub_url, HF_TOKEN=token)
    command = [sys.executable, str(PEFT_CLIENT), json.dumps(spec)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return torch.load(out)


def test_base_from_upstream_and_adapter_from_hub_load_in_one_process_then_from_the_cache(
    live_hub: str,
    upstream: Upstream,
    alice: Account,
    lora_files: list[dict[str, bytes]],
    upstream_base_dir: Path,
    tmp_path: Path,
) -> None:
    publish_folder(live_hub, alice.token, REPO, lora_files[0])
    base = transformers.AutoModelForCausalLM.from_pretrained(upstream_base_dir)
    expected = _logits(peft.PeftModel.from_pretrained(base, str(_write(tmp_path / "adapter", lora_files[0]))))

    assert (_load_through_hub(tmp_path / "first", live_hub, alice.token) - expected).abs().max() <= TOLERANCE
    weights = [path for method, path, _ in upstream.seen if method == "GET" and path.endswith("model.safetensors")]
    # Fetched once, at the commit the hub resolved "main" to, through the upstream's redirect to its CDN.
    assert weights == [f"/{BASE}/resolve/{COMMIT}/model.safetensors", f"/cdn/{BASE}/model.safetensors"]
    # The caller's hub token never reached the upstream; the upstream token did, and not past the redirect.
    assert not [headers for _, _, headers in upstream.seen if alice.token in json.dumps(headers)]
    resolves = {headers.get("authorization") for _, path, headers in upstream.seen if "/resolve/" in path}
    assert resolves == {f"Bearer {UPSTREAM_TOKEN}"}
    assert {headers.get("authorization") for _, path, headers in upstream.seen if path.startswith("/cdn/")} == {None}

    upstream.stop()
    with pytest.raises(httpx.TransportError):
        httpx.get(upstream.url, timeout=2)
    # A fresh Hugging Face cache: every byte now comes from the hub's cache, "main" from its remembered commit.
    assert (_load_through_hub(tmp_path / "second", live_hub, alice.token) - expected).abs().max() <= TOLERANCE


def _upstream_blobs(app) -> list[str]:
    return list(app.state.storage.list("upstream/blobs/"))


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("path", ["model.safetensors", "config.json"])  # an LFS file (sha256), a regular one (sha1)
def test_a_corrupted_upstream_byte_is_refused_and_nothing_is_cached(
    live_hub: str, upstream: Upstream, app, path: str, tmp_path: Path
) -> None:
    upstream.corrupt.add(f"{BASE}/{path}")
    url = f"{live_hub}/{BASE}/resolve/main/{path}"
    head = httpx.head(url)
    assert head.status_code == 200 and head.headers["x-repo-commit"] == COMMIT
    size = int(head.headers["content-length"])
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), httpx.stream("GET", url) as response:
        for chunk in response.iter_bytes():
            received += chunk
    assert len(received) < size  # the caller never holds a complete copy of refused bytes
    assert _upstream_blobs(app) == []
    # A real client (which resumes cut downloads a few times) ends with an error and no file in its cache.
    from tests.hf.conftest import HfClient

    client = HfClient(Path(sys.executable), None, tmp_path)
    failed = client.error(live_hub, "download", repo_id=BASE, filename=path)
    assert failed["error"] == "RemoteProtocolError" and "complete message body" in failed["message"], failed
    assert not [blob for blob in (tmp_path / "hf").rglob("blobs/*") if not blob.name.endswith(".incomplete")]
    assert _upstream_blobs(app) == []

    upstream.corrupt.clear()
    good = httpx.get(url)
    assert good.status_code == 200 and good.content == upstream.repos[BASE].files[path]
    assert len(_upstream_blobs(app)) == 1


def test_an_etag_that_is_no_digest_cannot_be_checked_so_the_file_is_refused(
    live_hub: str, upstream: Upstream, app
) -> None:
    upstream.foreign_etags.add(f"{BASE}/config.json")
    for method in ("HEAD", "GET"):
        answer = httpx.request(method, f"{live_hub}/{BASE}/resolve/main/config.json")
        assert (answer.status_code, answer.headers["x-error-code"]) == (502, "UpstreamMismatch")
    assert _upstream_blobs(app) == []


def test_ranges_are_answered_before_and_after_the_file_is_cached(live_hub: str, upstream: Upstream, app) -> None:
    data = upstream.repos[BASE].files["model.safetensors"]
    url = f"{live_hub}/{BASE}/resolve/{COMMIT}/model.safetensors"
    for _ in range(2):  # the first fills the cache from the upstream, the second is read from it
        answer = httpx.get(url, headers={"Range": "bytes=8-99"})
        assert answer.status_code == 206 and answer.content == data[8:100]
        assert answer.headers["content-range"] == f"bytes 8-99/{len(data)}"
        assert answer.headers["etag"] == f'"{_sha256(data)}"'
    assert _upstream_blobs(app)[0].endswith(_sha256(data))
    cdn_gets = [path for method, path, _ in upstream.seen if method == "GET" and path.startswith("/cdn/")]
    assert len(cdn_gets) == 1


def test_a_missing_upstream_file_answers_entry_not_found_also_with_the_upstream_stopped(
    live_hub: str, upstream: Upstream
) -> None:
    url = f"{live_hub}/{BASE}/resolve/main/tokenizer.json"
    for _ in range(2):
        answer = httpx.head(url)
        assert (answer.status_code, answer.headers["x-error-code"]) == (404, "EntryNotFound")
        assert answer.headers["x-repo-commit"] == COMMIT
        upstream.stop()  # the absence at that commit was cached


def test_dot_segments_never_reach_the_upstream(live_hub: str, upstream: Upstream) -> None:
    for path in ("..%2F..%2Fapi%2Fwhoami", "a%2F.%2Fconfig.json", "%2E%2E/x"):
        answer = httpx.head(f"{live_hub}/{BASE}/resolve/main/{path}")
        assert (answer.status_code, answer.headers["x-error-code"]) == (404, "EntryNotFound")
    assert upstream.seen == []  # refused before any request (unrefused, ".." would reach /org/base/api/whoami)


def test_upstream_unreachable_and_not_cached_is_a_502(live_hub: str, upstream: Upstream) -> None:
    upstream.stop()
    answer = httpx.get(f"{live_hub}/{BASE}/resolve/main/config.json")
    assert (answer.status_code, answer.headers["x-error-code"]) == (502, "UpstreamUnavailable")
    info = httpx.get(f"{live_hub}/api/models/{BASE}")
    assert (info.status_code, info.headers["x-error-code"]) == (502, "UpstreamUnavailable")


def test_a_repository_of_the_upstream_unknown_there_is_repo_not_found(live_hub: str, upstream: Upstream) -> None:
    answer = httpx.head(f"{live_hub}/other/missing/resolve/main/config.json")
    assert (answer.status_code, answer.headers["x-error-code"]) == (404, "RepoNotFound")


def test_namespaces_of_the_hub_never_fall_through_to_the_upstream(
    live_hub: str, upstream: Upstream, alice: Account, lora_files: list[dict[str, bytes]], app
) -> None:
    """The upstream holds alice/secret and alice/elsewhere too; the hub's alice namespace shadows both: a private
    adapter answers exactly as a missing one of the namespace, and the upstream is never asked."""
    upstream.repos["alice/secret"] = upstream.repos["alice/elsewhere"] = upstream.repos[BASE]
    publish_folder(live_hub, alice.token, "alice/secret", lora_files[0], private=True)
    upstream.seen.clear()
    answers = [
        httpx.head(f"{live_hub}/alice/{name}/resolve/main/config.json", headers=headers)
        for name in ("secret", "elsewhere")
        for headers in ({}, {"Authorization": "Bearer not-a-hub-token"})
    ]
    answers.append(httpx.get(f"{live_hub}/api/models/alice/secret"))
    answers.append(httpx.get(f"{live_hub}/api/models/alice/elsewhere/tree/main"))
    assert {(answer.status_code, answer.headers["x-error-code"]) for answer in answers} == {(404, "RepoNotFound")}
    assert upstream.seen == []
    owner = httpx.head(f"{live_hub}/alice/secret/resolve/main/adapter_config.json", headers=alice.headers)
    assert owner.status_code == 200 and upstream.seen == []


def test_snapshot_download_through_the_hub_lists_the_upstream_tree(
    live_hub: str, upstream: Upstream, tmp_path: Path
) -> None:
    from tests.hf.conftest import HfClient

    client = HfClient(Path(sys.executable), None, tmp_path)
    snapshot = client.call(live_hub, "snapshot", repo_id=BASE)
    files = upstream.repos[BASE].files
    assert snapshot == {"folder": COMMIT, "files": {path: _sha256(data) for path, data in files.items()}}
    tree = httpx.get(f"{live_hub}/api/models/{BASE}/tree/{COMMIT}", params={"recursive": "true"}).json()
    assert sorted(entry["path"] for entry in tree) == sorted(files)
    assert all("xetHash" not in entry for entry in tree)
    upstream.stop()
    info = httpx.get(f"{live_hub}/api/models/{BASE}/revision/main")
    assert info.status_code == 200 and info.json()["sha"] == COMMIT  # remembered for air-gapped use
