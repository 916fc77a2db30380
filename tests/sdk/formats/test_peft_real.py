"""Real adapters saved by PEFT from tiny random models: the derived facts must match the models."""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")
safetensors_torch = pytest.importorskip("safetensors.torch")

from sdk.formats.peft import (  # noqa: E402  (after the skips: torch, peft and transformers are optional)
    PEFT_CONFIG_NAME,
    PEFT_WEIGHTS_NAME,
    AdapterFacts,
    describe_peft_adapter,
    parse_peft_config,
)
from sdk.formats.safetensors import read_header_from_path  # noqa: E402
from tests.sdk.formats.models import tiny_gpt2, tiny_llama  # noqa: E402

pytestmark = pytest.mark.slow
LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def save_and_describe(model, config, directory) -> AdapterFacts:
    """Wrap `model` with `config`, save it as PEFT does and describe the saved files."""
    peft.get_peft_model(model, config).save_pretrained(directory)
    facts = describe_peft_adapter(
        parse_peft_config((directory / PEFT_CONFIG_NAME).read_bytes()),
        read_header_from_path(directory / PEFT_WEIGHTS_NAME),
    )
    saved = safetensors_torch.load_file(directory / PEFT_WEIGHTS_NAME)
    assert facts.trainable_params == sum(tensor.numel() for tensor in saved.values())
    return facts


def base_features(model, path: str) -> tuple[int, int]:
    """(in, out) of a module of the unwrapped model; GPT-2's Conv1D stores its weight as [in, out]."""
    module = model.get_submodule(path)
    if isinstance(module, torch.nn.Linear):
        return module.in_features, module.out_features
    fan_in, fan_out = module.weight.shape
    return fan_in, fan_out


def test_gpt2_lora_on_conv1d(tmp_path):
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    facts = save_and_describe(tiny_gpt2(), config, tmp_path)
    assert (facts.method, facts.rank, facts.alpha, facts.fan_in_fan_out) == ("lora", 4, 8.0, True)
    assert (facts.target_modules, facts.layers, facts.extra_tensors) == (["c_attn"], [0, 1], [])
    assert facts.library_version == peft.__version__
    base = tiny_gpt2()
    assert set(facts.modules) == {"transformer.h.0.attn.c_attn", "transformer.h.1.attn.c_attn"}
    for path, module in facts.modules.items():
        assert (module.kind, module.rank) == ("linear", 4)
        assert (module.in_features, module.out_features) == base_features(base, path) == (32, 96)


def test_llama_lora_on_every_projection_with_rank_pattern(tmp_path):
    config = peft.LoraConfig(
        r=4, target_modules=LLAMA_LINEAR, rank_pattern={"v_proj": 2}, use_rslora=True, task_type="CAUSAL_LM"
    )
    facts = save_and_describe(tiny_llama(), config, tmp_path)
    assert (facts.method, facts.rank, facts.use_rslora, facts.task_type) == ("lora", 4, True, "CAUSAL_LM")
    assert facts.target_modules == sorted(LLAMA_LINEAR) and facts.layers == [0, 1]
    assert len(facts.modules) == 2 * len(LLAMA_LINEAR)
    base = tiny_llama()
    for path, module in facts.modules.items():
        assert module.rank == (2 if path.endswith("v_proj") else 4)
        assert (module.in_features, module.out_features) == base_features(base, path)
    assert facts.modules["model.layers.1.self_attn.k_proj"].out_features == 32  # GQA: 2 KV heads of 16


def test_llama_ia3_with_feedforward_modules(tmp_path):
    config = peft.IA3Config(
        target_modules=["k_proj", "v_proj", "down_proj"], feedforward_modules=["down_proj"], task_type="CAUSAL_LM"
    )
    facts = save_and_describe(tiny_llama(), config, tmp_path)
    assert (facts.method, facts.rank, facts.target_modules) == ("ia3", None, ["down_proj", "k_proj", "v_proj"])
    assert facts.layers == [0, 1]
    base = tiny_llama()
    for path, module in facts.modules.items():
        fan_in, fan_out = base_features(base, path)
        expected = (fan_in, None) if path.endswith("down_proj") else (None, fan_out)
        assert (module.in_features, module.out_features) == expected


@pytest.mark.parametrize(
    ("name", "make_config", "method", "extras"),
    [
        ("dora", lambda: peft.LoraConfig(r=4, target_modules=["q_proj", "v_proj"], use_dora=True), "lora", 0),
        (
            "embedding+lm_head+bias",
            lambda: peft.LoraConfig(
                r=4, target_modules=["q_proj", "embed_tokens"], modules_to_save=["lm_head"], bias="all"
            ),
            "lora",
            2,
        ),
        ("lora_bias", lambda: peft.LoraConfig(r=4, target_modules=["q_proj"], lora_bias=True), "lora", 0),
        (
            "trainable_tokens",
            lambda: peft.LoraConfig(r=4, target_modules=["q_proj"], trainable_token_indices=[1, 2]),
            "lora",
            1,
        ),
        (
            "adalora",
            lambda: peft.AdaLoraConfig(init_r=6, target_r=4, target_modules=["q_proj", "v_proj"], total_step=10),
            "adalora",
            0,
        ),
        ("loha", lambda: peft.LoHaConfig(r=4, target_modules=["q_proj", "v_proj"]), "loha", 0),
        ("lokr", lambda: peft.LoKrConfig(r=4, target_modules=["q_proj", "v_proj"]), "lokr", 0),
        ("vera", lambda: peft.VeraConfig(r=4, target_modules=["q_proj"], save_projection=True), "vera", 0),
        ("oft", lambda: peft.OFTConfig(r=0, oft_block_size=8, target_modules=["q_proj"]), "oft", 0),
        ("ln_tuning", lambda: peft.LNTuningConfig(target_modules=["input_layernorm"]), "ln_tuning", 0),
        ("prompt", lambda: peft.PromptTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"), "prompt_tuning", 0),
        (
            "p_tuning",
            lambda: peft.PromptEncoderConfig(num_virtual_tokens=5, encoder_hidden_size=16, task_type="CAUSAL_LM"),
            "p_tuning",
            0,
        ),
        ("prefix", lambda: peft.PrefixTuningConfig(num_virtual_tokens=5, task_type="CAUSAL_LM"), "prefix_tuning", 0),
        (
            "multitask",
            lambda: peft.MultitaskPromptTuningConfig(num_virtual_tokens=5, num_tasks=2, task_type="CAUSAL_LM"),
            "multitask_prompt_tuning",
            0,
        ),
    ],
)
def test_every_method_saves_a_consistent_adapter(tmp_path, name, make_config, method, extras):
    facts = save_and_describe(tiny_llama(), make_config(), tmp_path)
    assert facts.method == method
    assert len(facts.extra_tensors) == extras, facts.extra_tensors


def test_a_tampered_adapter_is_refused(tmp_path):
    from sdk.formats.errors import InconsistentAdapterError

    peft.get_peft_model(tiny_llama(), peft.LoraConfig(r=4, target_modules=["q_proj"])).save_pretrained(tmp_path)
    weights = safetensors_torch.load_file(tmp_path / PEFT_WEIGHTS_NAME)
    del weights["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"]
    safetensors_torch.save_file(weights, tmp_path / PEFT_WEIGHTS_NAME, metadata={"format": "pt"})
    config = parse_peft_config((tmp_path / PEFT_CONFIG_NAME).read_bytes())
    with pytest.raises(InconsistentAdapterError, match="has no matching lora_B"):
        describe_peft_adapter(config, read_header_from_path(tmp_path / PEFT_WEIGHTS_NAME))
