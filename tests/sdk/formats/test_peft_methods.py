"""IA3, prompt learning and the lenient pass for other PEFT methods, on hand-built headers."""

from __future__ import annotations

import pytest

from sdk.formats.errors import InconsistentAdapterError
from sdk.formats.peft import ModuleInfo, describe_peft_adapter
from tests.sdk.formats.builders import PREFIX, header_of

K0, DOWN0 = "model.layers.0.self_attn.k_proj", "model.layers.0.mlp.down_proj"


def refused(config, spec) -> str:
    with pytest.raises(InconsistentAdapterError) as caught:
        describe_peft_adapter(config, header_of(spec))
    return str(caught.value)


# IA3


def ia3_config(**overrides):
    return {
        "peft_type": "IA3",
        "target_modules": ["k_proj", "v_proj", "down_proj"],
        "feedforward_modules": ["down_proj"],
        "modules_to_save": None,
    } | overrides


def ia3_spec(layers: int = 2) -> dict:
    spec = {}
    for layer in range(layers):
        spec[f"{PREFIX}model.layers.{layer}.self_attn.k_proj.ia3_l"] = ("F32", [32, 1])
        spec[f"{PREFIX}model.layers.{layer}.self_attn.v_proj.ia3_l"] = ("F32", [32, 1])
        spec[f"{PREFIX}model.layers.{layer}.mlp.down_proj.ia3_l"] = ("F32", [1, 128])
    return spec


def test_ia3_facts():
    facts = describe_peft_adapter(ia3_config(), header_of(ia3_spec()))
    assert (facts.method, facts.rank, facts.alpha) == ("ia3", None, None)
    assert facts.target_modules == ["down_proj", "k_proj", "v_proj"] and facts.layers == [0, 1]
    assert facts.modules[K0] == ModuleInfo("ia3", None, 32, None)
    assert facts.modules[DOWN0] == ModuleInfo("ia3", 128, None, None)
    assert facts.trainable_params == 2 * (32 + 32 + 128)


def test_ia3_orientation_follows_feedforward_modules():
    message = refused(ia3_config(feedforward_modules=[]), ia3_spec())
    assert f"tensor '{PREFIX}{DOWN0}.ia3_l' has shape [1, 128]; ia3_l of a non-feedforward module" in message
    message = refused(ia3_config(feedforward_modules=r".*_proj"), ia3_spec())
    assert "[32, 1]; ia3_l of a feedforward module must be [1, in]" in message


def test_ia3_convolutions_and_bad_ranks():
    conv = {f"{PREFIX}unet.conv.ia3_l": ("F32", [1, 8, 1, 1])}
    facts = describe_peft_adapter(ia3_config(target_modules=["conv"]), header_of(conv))
    assert facts.modules["unet.conv"] == ModuleInfo("ia3", None, 8, None)
    assert "must be [out, 1]" in refused(
        ia3_config(target_modules=["conv"]), {f"{PREFIX}unet.conv.ia3_l": ("F32", [8])}
    )


def test_ia3_targets_and_extras():
    assert "does not select" in refused(ia3_config(target_modules=["k_proj", "v_proj"]), ia3_spec())
    extra = ia3_spec() | {f"{PREFIX}lm_head.weight": ("F32", [100, 64]), f"{PREFIX}model.norm.weight": ("F32", [64])}
    assert f"tensor '{PREFIX}model.norm.weight' is not an IA3 tensor" in refused(ia3_config(), extra)
    assert "no IA3 tensor" in refused(ia3_config(), {})


# prompt learning


def prompt_config(peft_type: str = "PROMPT_TUNING", **overrides):
    config = {"peft_type": peft_type, "task_type": "CAUSAL_LM", "num_virtual_tokens": 5, "token_dim": 64}
    return config | {"num_transformer_submodules": 1, "num_layers": 2, "num_attention_heads": 4} | overrides


@pytest.mark.parametrize("peft_type", ["PROMPT_TUNING", "P_TUNING", "MULTITASK_PROMPT_TUNING"])
def test_prompt_embeddings(peft_type):
    facts = describe_peft_adapter(prompt_config(peft_type), header_of({"prompt_embeddings": ("F32", [5, 64])}))
    assert (facts.method, facts.modules, facts.target_modules, facts.layers) == (peft_type.lower(), {}, [], [])
    assert facts.trainable_params == 320 and facts.rank is None


def test_prompt_embeddings_shape_is_checked_against_the_config():
    message = refused(prompt_config(), {"prompt_embeddings": ("F32", [5, 32])})
    assert "tensor 'prompt_embeddings' has shape [5, 32]" in message and "= [5, 64]" in message
    two = prompt_config(num_transformer_submodules=2)
    assert "= [10, 64]" in refused(two, {"prompt_embeddings": ("F32", [5, 64])})
    seq2seq = prompt_config(task_type="SEQ_2_SEQ_LM", num_transformer_submodules=None)
    assert describe_peft_adapter(seq2seq, header_of({"prompt_embeddings": ("F32", [10, 64])})).trainable_params == 640
    unknown = {"peft_type": "PROMPT_TUNING"}
    assert describe_peft_adapter(unknown, header_of({"prompt_embeddings": ("F32", [7, 3])})).method == "prompt_tuning"
    assert "has shape [35]" in refused(prompt_config(), {"prompt_embeddings": ("F32", [35])})


def test_prefix_tuning_stores_keys_and_values_of_every_layer():
    # Llama with 2 KV heads: token_dim = head_dim * kv_heads = 32; width = num_layers * 2 * token_dim.
    config = prompt_config("PREFIX_TUNING", token_dim=32, num_attention_heads=2)
    assert describe_peft_adapter(config, header_of({"prompt_embeddings": ("F32", [5, 128])})).method == "prefix_tuning"
    assert "[num_virtual_tokens, num_layers * 2 * token_dim] = [5, 128]" in refused(
        config, {"prompt_embeddings": ("F32", [5, 32])}
    )


def test_prompt_learning_extras():
    spec = {"prompt_embeddings": ("F32", [5, 64]), "base_model.score.weight": ("F32", [2, 64])}
    facts = describe_peft_adapter(prompt_config(modules_to_save=["classifier", "score"]), header_of(spec))
    assert facts.extra_tensors == ["base_model.score.weight"]
    assert "is not part of a PROMPT_TUNING adapter" in refused(prompt_config(), spec)
    multitask = {"prompt_embeddings": ("F32", [5, 64]), "prefix_task_cols": ("F32", [2, 5, 1])}
    assert describe_peft_adapter(prompt_config("MULTITASK_PROMPT_TUNING"), header_of(multitask)).extra_tensors == []
    assert "not part of" in refused(prompt_config(), multitask)
    assert "has no 'prompt_embeddings' tensor" in refused(prompt_config(), {})


# other methods


def test_loha_modules_are_read_from_the_tuner_prefix():
    spec = {
        f"{PREFIX}model.layers.0.self_attn.q_proj.hada_w1_a": ("F32", [64, 4]),
        f"{PREFIX}model.layers.0.self_attn.q_proj.hada_w1_b": ("F32", [4, 64]),
        f"{PREFIX}model.layers.1.self_attn.v_proj.hada_w2_a": ("F32", [32, 4]),
        f"{PREFIX}lm_head.weight": ("F32", [100, 64]),
        f"{PREFIX}something.else": ("F32", [1]),
    }
    facts = describe_peft_adapter({"peft_type": "LOHA", "r": 4, "alpha": 16}, header_of(spec))
    assert (facts.method, facts.rank, facts.alpha, facts.layers) == ("loha", 4, 16.0, [0, 1])
    assert facts.modules["model.layers.0.self_attn.q_proj"] == ModuleInfo("other", None, None, None)
    assert facts.target_modules == ["q_proj", "v_proj"] and facts.extra_tensors == [f"{PREFIX}lm_head.weight"]


def test_other_methods_are_lenient_about_their_own_fields():
    spec = {f"{PREFIX}model.layers.0.self_attn.q_proj.oft_R.weight": ("F32", [8, 28])}
    facts = describe_peft_adapter({"peft_type": "OFT", "r": 0, "target_modules": {"odd": 1}}, header_of(spec))
    assert (facts.method, facts.rank, facts.target_modules) == ("oft", None, ["q_proj"])


def test_unknown_methods_use_every_known_prefix():
    spec = {f"{PREFIX}encoder.block.3.attn.vera_lambda_b": ("F32", [64]), "base_model.vera_A": ("F32", [4, 64])}
    facts = describe_peft_adapter({"peft_type": "SOMETHING_NEW", "r": "eight"}, header_of(spec))
    assert (facts.method, facts.rank, facts.layers) == ("something_new", None, [3])
    assert list(facts.modules) == ["encoder.block.3.attn"]
    assert facts.trainable_params == 64 + 256
