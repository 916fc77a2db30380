"""LoRA / AdaLoRA consistency rules and derived facts, on hand-built headers."""

from __future__ import annotations

import json

import pytest

from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.peft import ModuleInfo, describe_peft_adapter
from tests.sdk.formats.builders import PREFIX, header_of, llama_lora_spec, lora_config, lora_spec

Q0 = "model.layers.0.self_attn.q_proj"
V0 = "model.layers.0.self_attn.v_proj"


def describe(spec, **overrides):
    return describe_peft_adapter(lora_config(**overrides), header_of(spec))


def refused(spec, **overrides) -> str:
    with pytest.raises(InconsistentAdapterError) as caught:
        describe(spec, **overrides)
    assert caught.value.code == "InconsistentAdapter"
    return str(caught.value)


def without(spec, *suffixes):
    return {name: value for name, value in spec.items() if not name.endswith(suffixes)}


# what a consistent adapter yields


def test_facts_of_a_llama_lora():
    facts = describe(llama_lora_spec(), lora_alpha=16, use_rslora=True)
    assert (facts.library, facts.library_version, facts.method) == ("peft", "0.21.2", "lora")
    assert (facts.task_type, facts.base_model, facts.base_revision) == ("CAUSAL_LM", "tiny/llama-test", None)
    assert (facts.rank, facts.alpha, facts.use_rslora, facts.use_dora) == (4, 16.0, True, False)
    assert facts.target_modules == ["q_proj", "v_proj"] and facts.layers == [0, 1]
    assert facts.modules[Q0] == ModuleInfo("linear", 64, 64, 4)
    assert facts.modules[V0] == ModuleInfo("linear", 64, 32, 4)
    assert facts.trainable_params == 2 * (4 * 64 + 64 * 4 + 4 * 64 + 32 * 4)
    assert facts.extra_tensors == []


def test_to_dict_is_json_ready():
    as_dict = describe(llama_lora_spec()).to_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict
    assert as_dict["modules"][Q0] == {"kind": "linear", "in_features": 64, "out_features": 64, "rank": 4}


def test_missing_fields_take_peft_defaults():
    facts = describe_peft_adapter(
        {"peft_type": "LORA", "target_modules": ["q_proj"]}, header_of(llama_lora_spec(rank=8, targets=["q_proj"]))
    )
    assert (facts.rank, facts.alpha, facts.library_version, facts.base_model) == (8, 8.0, None, None)


def test_empty_base_model_counts_as_unknown():
    assert describe(llama_lora_spec(), base_model_name_or_path="").base_model is None


def test_keys_without_the_peft_model_prefix_are_understood():
    spec = {name.removeprefix(PREFIX): value for name, value in llama_lora_spec().items()}
    assert set(describe(spec).modules) == {Q0, V0, "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"}


def test_layers_come_from_h_blocks_and_layers_pattern():
    gpt2 = lora_spec({"transformer.h.3.attn.c_attn": (32, 96, 4)})
    assert describe(gpt2, target_modules=["c_attn"], fan_in_fan_out=True).layers == [3]
    custom = lora_spec({"encoder.stage.5.proj": (8, 8, 4)})
    assert describe(custom, target_modules=["proj"]).layers == []
    assert describe(custom, target_modules=["proj"], layers_pattern="stage").layers == [5]


# pairing and shapes


def test_lora_a_without_lora_b():
    message = refused(without(llama_lora_spec(), f"{V0}.lora_B.weight"))
    assert f"'{PREFIX}{V0}.lora_A.weight' has no matching lora_B" in message


def test_lora_b_without_lora_a():
    assert "has no matching lora_A" in refused(without(llama_lora_spec(), f"{Q0}.lora_A.weight"))


def test_rank_of_a_and_b_must_agree():
    spec = llama_lora_spec() | {f"{PREFIX}{Q0}.lora_B.weight": ("F32", [64, 3])}
    message = refused(spec)
    assert f"module '{Q0}'" in message and "has rank 4" in message and "has rank 3" in message


def test_linear_shapes_must_be_two_dimensional():
    spec = llama_lora_spec() | {f"{PREFIX}{Q0}.lora_A.weight": ("F32", [4, 64, 1])}
    assert "neither linear" in refused(spec)


def test_rank_must_match_config_r():
    message = refused(llama_lora_spec(rank=4), r=8)
    assert "has rank 4 but the config's r is 8" in message


def test_rank_pattern_sets_a_module_rank():
    spec = lora_spec({Q0: (64, 64, 4), V0: (64, 32, 2)})
    facts = describe(spec, rank_pattern={"v_proj": 2})
    assert facts.rank == 4 and facts.modules[V0].rank == 2
    assert "rank_pattern is 2" in refused(lora_spec({Q0: (64, 64, 4), V0: (64, 32, 4)}), rank_pattern={"v_proj": 2})
    assert "the config's r is 4" in refused(spec)


def test_rank_pattern_keys_match_like_peft():
    # "(.*\.)?{key}$": a key may name one layer's module, and the first matching key wins.
    spec = lora_spec({V0: (64, 32, 2), "model.layers.1.self_attn.v_proj": (64, 32, 4)})
    assert describe(spec, rank_pattern={"layers.0.self_attn.v_proj": 2}).rank == 4
    assert describe(spec, rank_pattern={r"layers\.0.*": 2, "v_proj": 4}).modules[V0].rank == 2
    with pytest.raises(InconsistentAdapterError, match="rank_pattern is 8"):
        describe(spec, rank_pattern={"v_proj": 8, r"layers\.0\.self_attn\.v_proj": 2})
    # "proj" must follow a dot: it does not match "v_proj", so the config's r applies.
    assert "the config's r is 4" in refused(spec, rank_pattern={"proj": 2})


def test_convolution_shapes():
    spec = lora_spec({}) | {
        f"{PREFIX}unet.conv_in.lora_A.weight": ("F32", [4, 3, 3, 3]),
        f"{PREFIX}unet.conv_in.lora_B.weight": ("F32", [8, 4, 1, 1]),
    }
    assert describe(spec, target_modules=["conv_in"]).modules["unet.conv_in"] == ModuleInfo("conv", 3, 8, 4)
    spec[f"{PREFIX}unet.conv_in.lora_B.weight"] = ("F32", [8, 4, 3, 3])
    assert "neither linear" in refused(spec, target_modules=["conv_in"])


def test_embedding_shapes_and_base_layer_copy():
    spec = {
        f"{PREFIX}model.embed_tokens.lora_embedding_A": ("F32", [4, 100]),
        f"{PREFIX}model.embed_tokens.lora_embedding_B": ("F32", [64, 4]),
        f"{PREFIX}model.embed_tokens.base_layer.weight": ("F32", [100, 64]),
    }
    facts = describe(spec, target_modules=["embed_tokens"])
    assert facts.modules["model.embed_tokens"] == ModuleInfo("embedding", 100, 64, 4)
    assert facts.extra_tensors == [f"{PREFIX}model.embed_tokens.base_layer.weight"]
    assert facts.trainable_params == 400 + 256 + 6400
    spec[f"{PREFIX}model.embed_tokens.lora_embedding_B"] = ("F32", [64, 5])
    assert "has rank 5" in refused(spec, target_modules=["embed_tokens"])


def test_embedding_tensors_must_not_mix_with_lora_a():
    spec = lora_spec({"model.embed_tokens": (100, 64, 4)}) | {
        f"{PREFIX}model.embed_tokens.lora_embedding_A": ("F32", [4, 100]),
    }
    assert "mixes lora_A/lora_B with lora_embedding_A/B" in refused(spec, target_modules=["embed_tokens"])


def test_empty_tensors_point_at_unsharded_zero3_saves():
    spec = llama_lora_spec() | {f"{PREFIX}{Q0}.lora_A.weight": ("F32", [0])}
    assert "ZeRO-3" in refused(spec)


# DoRA and lora_bias


def test_dora_magnitudes():
    spec = lora_spec({Q0: (64, 64, 4), V0: (64, 32, 4)})
    magnitudes = {
        f"{PREFIX}{Q0}.lora_magnitude_vector": ("F32", [64]),
        f"{PREFIX}{V0}.lora_magnitude_vector": ("F32", [32]),
    }
    assert describe(spec | magnitudes, use_dora=True).use_dora is True
    assert "use_dora is false" in refused(spec | magnitudes)
    assert f"module '{Q0}' has no lora_magnitude_vector" in refused(spec, use_dora=True)
    wrong = magnitudes | {f"{PREFIX}{V0}.lora_magnitude_vector": ("F32", [64])}
    assert "needs [32]" in refused(spec | wrong, use_dora=True)


def test_lora_bias():
    spec = lora_spec({V0: (64, 32, 4)}) | {f"{PREFIX}{V0}.lora_B.bias": ("F32", [32])}
    assert describe(spec, lora_bias=True).modules[V0].out_features == 32
    assert "lora_bias is false" in refused(spec)
    spec[f"{PREFIX}{V0}.lora_B.bias"] = ("F32", [64])
    assert "expected [32]" in refused(spec, lora_bias=True)


# target_modules, exclude_modules


def test_modules_must_be_targeted():
    message = refused(llama_lora_spec(), target_modules=["q_proj"])
    assert f"adapts module '{V0}', which target_modules ['q_proj'] does not select" in message


def test_target_names_match_whole_segments():
    assert "does not select" in refused(llama_lora_spec(targets=["q_proj"]), target_modules=["proj"])
    assert describe(llama_lora_spec(targets=["q_proj"]), target_modules=["self_attn.q_proj"]).rank == 4


def test_string_target_modules_is_a_full_match_regex():
    spec = llama_lora_spec()
    assert describe(spec, target_modules=r".*\.(q|v)_proj").target_modules == ["q_proj", "v_proj"]
    assert "does not select" in refused(spec, target_modules=r"q_proj")
    assert "does not select" in refused(spec, target_modules=r".*layers\.1.*")


def test_all_linear_and_absent_targets_accept_any_module():
    assert describe(llama_lora_spec(), target_modules="all-linear").rank == 4
    assert describe(llama_lora_spec(), target_modules=None).rank == 4


def test_exclude_modules():
    message = refused(llama_lora_spec(), target_modules=r".*_proj", exclude_modules=["layers.1.self_attn.v_proj"])
    assert "which exclude_modules excludes" in message
    assert "exclude_modules excludes" in refused(llama_lora_spec(), exclude_modules=r".*layers\.0\.self_attn\.q_proj")
    assert describe(llama_lora_spec(), exclude_modules=["k_proj"]).rank == 4


def test_target_parameters_allow_per_expert_rank_stacking():
    spec = lora_spec({"model.layers.0.mlp.experts": (64, 256, 4 * 8)})
    config = {"target_modules": None, "target_parameters": ["mlp.experts.gate_up_proj"]}
    assert describe(spec, **config).modules["model.layers.0.mlp.experts"].rank == 32
    assert "does not select" in refused(spec, target_modules=None, target_parameters=["attn.experts.w"])
    assert "r is 5" in refused(spec, r=5, **config)


# tensors beside the adapter


def test_unexplained_tensors_are_refused():
    spec = llama_lora_spec() | {f"{PREFIX}model.norm.weight": ("F32", [64])}
    message = refused(spec)
    assert f"tensor '{PREFIX}model.norm.weight' is not a LoRA tensor" in message


def test_modules_to_save_copies():
    spec = llama_lora_spec() | {f"{PREFIX}score.weight": ("F32", [2, 64]), f"{PREFIX}score.bias": ("F32", [2])}
    facts = describe(spec, modules_to_save=["classifier", "score"])
    assert facts.extra_tensors == [f"{PREFIX}score.bias", f"{PREFIX}score.weight"]
    assert "not a LoRA tensor" in refused(spec, modules_to_save=["classifier"])


def test_modules_to_save_may_name_a_block():
    spec = llama_lora_spec() | {f"{PREFIX}model.layers.1.mlp.up_proj.weight": ("F32", [128, 64])}
    assert describe(spec, modules_to_save=["layers.1.mlp"]).extra_tensors == [
        f"{PREFIX}model.layers.1.mlp.up_proj.weight"
    ]
    assert "not a LoRA tensor" in refused(spec, modules_to_save=["layers.1.ml"])


def test_biases_follow_the_bias_setting():
    spec = llama_lora_spec() | {f"{PREFIX}{Q0}.base_layer.bias": ("F32", [64])}
    assert describe(spec, bias="lora_only").extra_tensors == [f"{PREFIX}{Q0}.base_layer.bias"]
    assert describe(spec, bias="all").trainable_params == describe(llama_lora_spec()).trainable_params + 64
    assert "bias ('none')" in refused(spec)


def test_resized_vocabulary_embeddings_are_extras():
    spec = llama_lora_spec() | {
        f"{PREFIX}model.embed_tokens.weight": ("F32", [102, 64]),
        f"{PREFIX}lm_head.weight": ("F32", [102, 64]),
    }
    assert len(describe(spec).extra_tensors) == 2


def test_trainable_tokens_delta():
    spec = llama_lora_spec() | {f"{PREFIX}model.embed_tokens.token_adapter.trainable_tokens_delta": ("F32", [2, 64])}
    assert len(describe(spec, trainable_token_indices=[1, 2]).extra_tensors) == 1
    assert "not a LoRA tensor" in refused(spec)


def test_a_file_without_lora_tensors():
    assert "no LORA tensor" in refused({f"{PREFIX}lm_head.weight": ("F32", [100, 64])}, modules_to_save=["lm_head"])
    assert "no LORA tensor" in refused({})


def test_keys_without_a_module_path_or_absurdly_long():
    assert "has no module path" in refused({"lora_A.weight": ("F32", [4, 8]), "lora_B.weight": ("F32", [8, 4])})
    long_path = "model." + "x" * 600
    spec = lora_spec({long_path: (8, 8, 4)})
    assert "637-character name; module paths are under 512" in refused(spec, target_modules=None)


# AdaLoRA


def adalora_spec(rank: int = 6) -> dict:
    spec = {}
    for path, fan_out in ((Q0, 64), (V0, 32)):
        spec[f"{PREFIX}{path}.lora_A"] = ("F32", [rank, 64])
        spec[f"{PREFIX}{path}.lora_B"] = ("F32", [fan_out, rank])
        spec[f"{PREFIX}{path}.lora_E"] = ("F32", [rank, 1])
    return spec


def test_adalora_keeps_init_r_rows():
    facts = describe(adalora_spec(6), peft_type="ADALORA", r=8, init_r=6, rank_pattern=None)
    assert (facts.method, facts.rank) == ("adalora", 6)
    assert "init_r is 12" in refused(adalora_spec(6), peft_type="ADALORA", r=8, rank_pattern=None)


def test_adalora_with_a_rank_pattern_varies_ranks():
    pattern = {f"{PREFIX}{Q0}.lora_E": [True] * 3}
    assert describe(adalora_spec(3), peft_type="ADALORA", init_r=6, rank_pattern=pattern).rank == 3


def test_adalora_singular_values_and_key_style():
    spec = adalora_spec(6) | {f"{PREFIX}{Q0}.lora_E": ("F32", [6, 2])}
    assert "expected [6, 1]" in refused(spec, peft_type="ADALORA", init_r=6)
    assert "is not an AdaLoRA (bare lora_A, lora_B, lora_E) tensor" in refused(llama_lora_spec(), peft_type="ADALORA")


def test_regexes_from_the_config_are_compiled_once_and_checked():
    with pytest.raises(AdapterConfigError, match="not a valid regular expression"):
        describe(llama_lora_spec(), exclude_modules="[")
