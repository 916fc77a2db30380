"""The vLLM plugin, run by vLLM's own plugin loader and resolver registry in the vLLM venv (.venv-vllm).

This (main) environment starts a live hub, builds a tiny Llama base and real PEFT adapters, publishes them,
and runs tests/serving/vllm_side.py in the vLLM venv, which asks the hub's resolver for names as vLLM's
OpenAI server does. The folders it answers are then loaded here with peft.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from sdk import Hub
from sdk.serving.resolve import revision_int_id
from tests.sdk.test_support import Traffic
from tests.serving.conftest import run_side, side_env
from tests.serving.models import peft_logits, save_adapter, save_base

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sdk_env")]
RESOLVER = "Adapter Hub"
WEIGHTS = "adapter_model.safetensors"


@pytest.fixture
def backend() -> str:
    return "sqlite-local"  # resolving is client-side; what the hub serves is covered on both backends elsewhere


@pytest.fixture
def published(hub: Hub, tmp_path: Path) -> dict[str, Any]:
    """The served base, and adapters published to the hub: lora v1/v2 (stable -> v1), misfits, IA3, private."""
    base = save_base(tmp_path / "served-base")
    folders = {
        "v1": save_adapter(base, tmp_path / "lora-v1", seed=1),
        "v2": save_adapter(base, tmp_path / "lora-v2", seed=2),
        "wide": save_adapter(save_base(tmp_path / "wide-base", hidden=32), tmp_path / "wide"),
        "deep": save_adapter(save_base(tmp_path / "deep-base", layers=4), tmp_path / "deep"),
        "ia3": save_adapter(base, tmp_path / "ia3", method="ia3"),
        "secret": save_adapter(base, tmp_path / "secret", seed=3),
    }
    meta = {"base_model": "tiny/llama-serve", "license": "apache-2.0"}
    revisions = {"v1": hub.publish(folders["v1"], "alice/chat", **meta)["revision"]}
    revisions["v2"] = hub.publish(folders["v2"], "alice/chat", **meta)["revision"]
    hub.move_tag("alice/chat", "stable", "v1")
    for name in ("wide", "deep", "ia3"):
        hub.publish(folders[name], f"alice/{name}", **meta)
    hub.publish(folders["secret"], "alice/secret", private=True, **meta)
    return {"base": base, "folders": folders, "revisions": revisions}


def resolve_in_vllm(python: Path, work: Path, url: str, base: Path, names: list[str], token: str = "") -> dict:
    work.mkdir(exist_ok=True)
    job = {"work": str(work), "base": str(base), "names": names, "resolver": RESOLVER}
    answer = run_side(python, job, side_env(work.parent, url, token))
    answer["by_name"] = {call["name"]: call for call in answer["calls"]}
    return answer


def hub_port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


def test_vllm_resolves_pinned_checked_verified_adapters_from_the_hub(
    vllm_python: Path, hub_url: str, alice: Any, published: dict[str, Any], traffic: Traffic, tmp_path: Path
) -> None:
    base, folders, revisions = published["base"], published["folders"], published["revisions"]
    names = ["alice/chat@v1", "alice/chat@stable", f"alice/chat@{revisions['v2']}", "alice/wide", "alice/deep",
             "alice/ia3", "alice/secret", "alice/missing"]  # fmt: skip
    traffic.reset()
    first = resolve_in_vllm(vllm_python, tmp_path / "run1", hub_url, base, names)

    # vLLM's loader ran the entry point (VLLM_PLUGINS=adapter_hub) and the registry holds the resolver.
    assert RESOLVER in first["registered"] and first["resolver_type"] == "HubLoRAResolver"
    v1 = first["by_name"]["alice/chat@v1"]["request"]
    assert v1["type"] == "vllm.lora.request.LoRARequest"
    assert v1["lora_name"] == "alice/chat@v1" and v1["lora_int_id"] == revision_int_id(revisions["v1"]) > 0
    assert first["by_name"]["alice/chat@v1"]["log"] == [
        f"Adapter Hub: alice/chat@v1 -> alice/chat v1 (revision {revisions['v1'][:12]}) at {v1['lora_path']}"
    ]
    folder = Path(v1["lora_path"])
    assert folder.name == revisions["v1"]  # the snapshot of that one immutable revision
    assert folder.is_relative_to(tmp_path / "hub-cache")  # HUB_CACHE, as every SDK client reads it
    assert (folder / WEIGHTS).read_bytes() == (folders["v1"] / WEIGHTS).read_bytes()
    served, reference = peft_logits(base, folder), peft_logits(base, folders["v1"])
    assert torch.allclose(served, reference, atol=1e-5, rtol=0)
    assert not torch.allclose(served, peft_logits(base, folders["v2"]), atol=1e-3)  # v1's weights, not v2's

    assert first["by_name"]["alice/chat@stable"]["request"]["lora_int_id"] == v1["lora_int_id"]
    pinned = first["by_name"][f"alice/chat@{revisions['v2']}"]["request"]
    assert Path(pinned["lora_path"]).name == revisions["v2"]

    for name, expected in (("alice/wide", "in=32"), ("alice/deep", "layers 2-3 are missing")):
        call = first["by_name"][name]
        assert call["request"] is None
        assert len(call["log"]) == 1 and name in call["log"][0] and expected in call["log"][0], call["log"]
        assert "model.layers." in call["log"][0]  # the modules that do not fit are named
    ia3 = first["by_name"]["alice/ia3"]
    assert ia3["request"] is None and ia3["log"] == [
        "Adapter Hub: alice/ia3 not served: its method is 'ia3', and serving engines load LoRA adapters only"
    ]
    for name in ("alice/secret", "alice/missing"):
        assert first["by_name"][name]["request"] is None
        assert first["by_name"][name]["log"] == [f"Adapter Hub: {name} not served: no such adapter or version on "
                                                 "the hub, or not visible to this token"]  # fmt: skip

    # Nothing but the hub was contacted, and the hub did see the side process's requests.
    assert first["connected"] and {tuple(address) for address in first["connected"]} == {
        ("127.0.0.1", hub_port(hub_url))
    }
    assert any("/versions/" in path for _, path in traffic.requests)

    Hub(hub_url, token=alice.token).move_tag("alice/chat", "stable", "v2")
    second = resolve_in_vllm(vllm_python, tmp_path / "run2", hub_url, base, ["alice/chat@stable", "alice/secret"],
                             token=alice.token)  # fmt: skip
    moved = second["by_name"]["alice/chat@stable"]["request"]
    assert Path(moved["lora_path"]).name == revisions["v2"]
    assert moved["lora_int_id"] == revision_int_id(revisions["v2"]) != v1["lora_int_id"]
    secret = second["by_name"]["alice/secret"]["request"]
    assert secret is not None and json.loads((Path(secret["lora_path"]) / "adapter_config.json").read_text())
