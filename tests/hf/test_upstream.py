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
