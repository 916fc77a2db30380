"""Native LoRA/IA3 injection against the real peft: same logits, exact unload, merge, disable/enable."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk.torch import AdapterHandle, load_adapter_folder  # noqa: E402  (after the skips: torch is optional)
from sdk.torch.layers import AdapterWrapper  # noqa: E402
from tests.sdk.torch.peft_helpers import (  # noqa: E402
    FACTORIES,
    LLAMA_LINEAR,
    inputs,
    logits,
    modules_by_path,
    peft_logits,
    save_adapter,
)

GPT2_LORA = {"fan_in_fan_out": True}
# name -> (model family, peft config class, config fields); the adapters are saved once per module.
CASES = {
    "gpt2-lora": ("gpt2", "LoraConfig", GPT2_LORA | {"r": 4, "lora_alpha": 8, "target_modules": ["c_attn", "c_proj"]}),
    "gpt2-lora-rslora-patterns": ("gpt2", "LoraConfig", GPT2_LORA | {
        "r": 4, "lora_alpha": 8, "target_modules": ["c_attn", "c_proj", "c_fc"], "use_rslora": True,
        "rank_pattern": {"h.1.attn.c_attn": 6, "mlp.c_proj": 2}, "alpha_pattern": {"c_fc": 32},
    }),
    "gpt2-dora": ("gpt2", "LoraConfig", GPT2_LORA | {"r": 4, "target_modules": ["c_attn"], "use_dora": True}),
    "llama-lora": ("llama", "LoraConfig", {"r": 4, "lora_alpha": 8, "target_modules": LLAMA_LINEAR}),
    "llama-lora-rslora-patterns": ("llama", "LoraConfig", {
        "r": 4, "lora_alpha": 16, "target_modules": LLAMA_LINEAR, "use_rslora": True,
        "rank_pattern": {"v_proj": 2, "layers.1.mlp.down_proj": 6}, "alpha_pattern": {"k_proj": 4, "o_proj": 32},
    }),
    "llama-lora-patterns-layer-subset": ("llama", "LoraConfig", {
        "r": 8, "lora_alpha": 8, "target_modules": ["q_proj", "k_proj", "v_proj"], "layers_to_transform": [1],
        "rank_pattern": {"k_proj": 2}, "alpha_pattern": {"q_proj": 2},
    }),
    # PEFT saves the whole embedding beside embedding LoRA (embed_tokens.base_layer.weight).
    "llama-lora-embed-tokens": ("llama", "LoraConfig", {"r": 4, "target_modules": ["embed_tokens", "q_proj"]}),
    "llama-dora": ("llama", "LoraConfig", {"r": 4, "target_modules": ["q_proj", "k_proj", "v_proj", "down_proj"],
                                           "use_dora": True}),
    "llama-ia3": ("llama", "IA3Config", {
        "target_modules": ["k_proj", "v_proj", "down_proj", "up_proj"], "feedforward_modules": ["down_proj"],
    }),
    "gpt2-ia3": ("gpt2", "IA3Config", {
        "target_modules": ["c_attn", "mlp.c_proj", "c_fc"], "feedforward_modules": ["mlp.c_proj"],
        "fan_in_fan_out": True,
    }),
    "vision-lora-embedding-conv2d": ("vision", "LoraConfig", {
        "r": 4, "lora_alpha": 8, "target_modules": ["emb", "conv", "pointwise", "head"],
        "rank_pattern": {"pointwise": 2},
    }),
    "vision-lora-rslora": ("vision", "LoraConfig", {"r": 4, "lora_alpha": 8, "target_modules": ["emb", "conv"],
                                                    "use_rslora": True}),
    "vision-ia3-conv2d": ("vision", "IA3Config", {
        "target_modules": ["conv", "pointwise", "head"], "feedforward_modules": ["pointwise"],
    }),
}  # fmt: skip


@dataclass
class Case:
    name: str
    folder: Path
    factory: object
    ids: object
    base: object  # logits of the plain base model
    reference: object  # logits of PeftModel.from_pretrained


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, tmp_path_factory) -> Case:
    family, config_class, fields = CASES[request.param]
    factory = FACTORIES[family]
    config = getattr(peft, config_class)(**fields)
    folder = save_adapter(factory, config, tmp_path_factory.mktemp(request.param))
    ids = inputs(vocab=50, length=16) if family == "vision" else inputs()
    return Case(request.param, folder, factory, ids, logits(factory(), ids), peft_logits(factory, folder, ids))


def loaded(case: Case):
    model = case.factory().eval()
    return model, load_adapter_folder(model, case.folder)


def test_logits_match_peft(case):
    model, handle = loaded(case)
    ours = logits(model, case.ids)
    assert handle.method in ("lora", "ia3")
    assert not torch.allclose(case.reference, case.base, atol=1e-3), "the adapter should change the outputs"
    assert (ours - case.reference).abs().max().item() <= 1e-5


def test_unload_restores_the_original_modules_and_outputs(case):
    model = case.factory().eval()
    before = modules_by_path(model)
    handle = load_adapter_folder(model, case.folder)
    assert all(isinstance(model.get_submodule(path), AdapterWrapper) for path in handle.modules)
    handle.unload()
    after = modules_by_path(model)
    assert after.keys() == before.keys()
    assert all(after[path] is module for path, module in before.items())
    assert torch.equal(logits(model, case.ids), case.base)
    assert model.hub_adapters == {}


def test_merge_matches_unmerged_outputs(case):
    model, handle = loaded(case)
    unmerged = logits(model, case.ids)
    handle.merge()
    assert not any(isinstance(module, AdapterWrapper) for module in model.modules())
    assert (logits(model, case.ids) - unmerged).abs().max().item() <= 1e-4


def test_disable_and_enable(case):
    model, handle = loaded(case)
    adapted = logits(model, case.ids)
    handle.disable()
    assert torch.equal(logits(model, case.ids), case.base)
    handle.enable()
    assert torch.equal(logits(model, case.ids), adapted)
    assert isinstance(model.hub_adapters["default"], AdapterHandle)
