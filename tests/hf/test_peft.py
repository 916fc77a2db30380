"""peft pulls a real LoRA from the hub, with HF_ENDPOINT (zero code) and with sdk.hf (no variables), in
fresh processes, and computes the same logits as loading the published folder from disk."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from tests.fixtures.hub import Account
from tests.hf.conftest import RequestLog, client_env, publish_folder
from tests.hf.peft_client import INPUT_IDS

peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

REPO = "alice/llama-lora"
PEFT_CLIENT = Path(__file__).with_name("peft_client.py")
TOLERANCE = 1e-5


@pytest.fixture(scope="session")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.hf.adapters import base_folder

    return base_folder(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture
def adapter_dir(tmp_path: Path, lora_files: list[dict[str, bytes]]) -> Path:
    folder = tmp_path / "published"
    for path, data in lora_files[0].items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


def logits(model: Any) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(input_ids=INPUT_IDS).logits


def local_logits(base_dir: Path, adapter_dir: Path) -> torch.Tensor:
    base = transformers.AutoModelForCausalLM.from_pretrained(base_dir)
    return logits(peft.PeftModel.from_pretrained(base, str(adapter_dir)))


def remote_logits(tmp_path: Path, how: str, base_dir: Path, hub_url: str) -> torch.Tensor:
    out = tmp_path / f"{how}.pt"
    spec = {"how": how, "base": str(base_dir), "repo_id": REPO, "hub_url": hub_url, "out": str(out)}
    # The zero-code path sets HF_ENDPOINT; the SDK path must work without any HF_* variable.
    env = client_env(tmp_path / how, None if how == "sdk" else hub_url)
    command = [sys.executable, str(PEFT_CLIENT), json.dumps(spec)]
    completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return torch.load(out)


def test_peft_from_pretrained_with_hf_endpoint_equals_the_local_folder(
    hf_hub: str,
    request_log: RequestLog,
    alice: Account,
    lora_files: list[dict[str, bytes]],
    base_dir: Path,
    adapter_dir: Path,
    tmp_path: Path,
) -> None:
    publish_folder(hf_hub, alice.token, REPO, lora_files[0])
    expected = local_logits(base_dir, adapter_dir)
    base_only = logits(transformers.AutoModelForCausalLM.from_pretrained(base_dir))
    assert (expected - base_only).abs().max() > 1e-3  # the adapter changes the output: the comparison means something
    request_log.clear()
    pulled = remote_logits(tmp_path, "hf_endpoint", base_dir, hf_hub)
    assert (pulled - expected).abs().max() <= TOLERANCE
    fetched = sorted(seen.path.rsplit("/", 1)[-1] for seen in request_log.resolves("GET"))
    assert fetched == ["adapter_config.json", "adapter_model.safetensors"]
    assert all(seen.status == 200 for seen in request_log.entries)


@pytest.mark.parametrize("how", ["sdk", "transformers"])
def test_sdk_helper_and_transformers_load_adapter_equal_the_local_folder(
    hf_hub: str,
    alice: Account,
    lora_files: list[dict[str, bytes]],
    base_dir: Path,
    adapter_dir: Path,
    tmp_path: Path,
    how: str,
) -> None:
    publish_folder(hf_hub, alice.token, REPO, lora_files[0])
    expected = local_logits(base_dir, adapter_dir)
    assert (remote_logits(tmp_path, how, base_dir, hf_hub) - expected).abs().max() <= TOLERANCE


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


@pytest.mark.skipif(not _has_module("sdk.client"), reason="the SDK's native pull is not there")
def test_hf_pull_equals_the_sdk_native_pull(
    hf_hub: str, alice: Account, lora_files: list[dict[str, bytes]], base_dir: Path, tmp_path: Path
) -> None:
    from sdk.client import Hub

    publish_folder(hf_hub, alice.token, REPO, lora_files[0])
    model = transformers.AutoModelForCausalLM.from_pretrained(base_dir)
    base_only = logits(model)
    Hub(hf_hub, cache_dir=tmp_path / "sdk-cache").pull(REPO, into=model)  # injects into `model` in place
    native = logits(model)
    assert (native - base_only).abs().max() > 1e-3
    assert (remote_logits(tmp_path, "hf_endpoint", base_dir, hf_hub) - native).abs().max() <= TOLERANCE
