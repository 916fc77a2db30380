"""AdapterHub `adapters` folders from config and header alone: format detection, method names, AdapterHub config
ids, the facts, the refusals, and the compatibility check (hidden size, layers, head-model prefixes).
Pure Python: the real library's run is tests/adapters_lib/test_adapters_library.py."""

from __future__ import annotations

import pytest

from sdk.formats._adapters_config import config_id, lora_alpha, method_of
from sdk.formats.adapters import HeadFiles, describe_adapters_adapter
from sdk.formats.compat import ModelStructure, check_compatibility
from sdk.formats.detect import detect_format
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from tests.adapters_lib.folders import CONFIGS, adapters_config, adapters_spec
from tests.sdk.formats.builders import header_of, lora_config


def facts(method: str, *, hidden: int = 64, prefix: str = "", **config: object) -> dict[str, object]:
    header = header_of(adapters_spec(method, hidden=hidden, prefix=prefix))
    return describe_adapters_adapter(adapters_config(method, hidden=hidden, **config), header).to_dict()


def bert_structure(hidden: int, layers: int = 2, prefix: str = "") -> ModelStructure:
    """The linear and embedding modules of a tiny BertModel (intermediate = 2 * hidden)."""
    lines = [f"{prefix}embeddings.word_embeddings embedding 100 {hidden}"]
    for index in range(layers):
        layer = f"{prefix}encoder.layer.{index}"
        lines += [f"{layer}.attention.self.{name} {hidden} {hidden}" for name in ("query", "key", "value")]
        lines += [
            f"{layer}.attention.output.dense {hidden} {hidden}",
            f"{layer}.intermediate.dense {hidden} {2 * hidden}",
        ]
        lines += [f"{layer}.output.dense {2 * hidden} {hidden}"]
    return ModelStructure.from_text("\n".join(lines))


def test_detect_tells_the_three_libraries_apart() -> None:
    files = ["adapter_config.json", "adapter.safetensors"]
    assert detect_format(files, {"adapter_config.json": adapters_config("seq_bn")}).library == "adapters"
    assert detect_format(files, {"adapter_config.json": lora_config()}).library == "peft"
    delta = {"delta_type": "lora", "lora_r": 4}
    assert detect_format(["config.json", "pytorch_model.bin"], {"config.json": delta}).weights_name == (
        "delta_model.safetensors"
    )
    assert detect_format(["config.json"], {"config.json": {"model_type": "bert"}}) is None  # a model's config
    assert detect_format(files, {"adapter_config.json": {"r": 8}}) is None


@pytest.mark.parametrize(
    ("config", "method"),
    [
        (CONFIGS["seq_bn"], "seq_bn"),
        (CONFIGS["double_seq_bn"], "double_seq_bn"),
        ({**CONFIGS["seq_bn"], "inv_adapter": "nice"}, "seq_bn_inv"),
        ({**CONFIGS["seq_bn"], "is_parallel": True, "scaling": "learned"}, "scaled_par_bn"),
        ({**CONFIGS["seq_bn"], "phm_layer": True}, "compacter++"),
        (CONFIGS["lora"], "lora"),
        (CONFIGS["ia3"], "ia3"),
        ({**CONFIGS["lora"], "use_dora": True}, "dora"),
        ({**CONFIGS["lora"], "vera_d": 0.1, "vera_b": 0.0}, "vera"),
        (CONFIGS["prompt_tuning"], "prompt_tuning"),
        (
            {
                "architecture": "union",
                "configs": [{"architecture": "prefix_tuning"}, {**CONFIGS["seq_bn"], "is_parallel": True}],
            },
            "mam",
        ),
        ({"architecture": "reft", "orthogonality": True}, "loreft"),
    ],
)
def test_method_names_follow_adapter_config_map(config: dict[str, object], method: str) -> None:
    assert method_of(config) == method


def test_config_ids_are_adapterhubs() -> None:
    # The ids of the AdapterHub index (pfeiffer, houlsby) and of adapters 1.3.0's get_adapter_config_hash.
    expected = {
        "seq_bn": "9076f36a74755ac4",
        "double_seq_bn": "b1017368d7a97b11",
        "lora": "625403edad0bf919",
        "ia3": "1ebb5af107e576c0",
        "prompt_tuning": "8e35d5049bb12364",
    }
    assert {method: config_id(config) for method, config in CONFIGS.items()} == expected


def test_bottleneck_facts() -> None:
    described = facts("double_seq_bn")
    assert described["library"] == "adapters" and described["method"] == "double_seq_bn"
    assert described["config_id"] == "b1017368d7a97b11" and described["library_version"] == "1.3.0"
    assert (described["model_type"], described["hidden_size"], described["base_model"]) == (
        "bert",
        64,
        "tiny/bert-test",
    )
    assert described["rank"] == 4 and described["reduction_factor"] == 16 and described["non_linearity"] == "swish"
    assert described["layers"] == [0, 1] and described["target_modules"] == ["attention.output", "output"]
    assert described["modules"]["encoder.layer.1.attention.output.dense"] == {
        "kind": "bottleneck",
        "in_features": None,
        "out_features": 64,
        "rank": 4,
    }
    assert described["trainable_params"] == 2 * 2 * (4 * 64 + 4 + 64 * 4 + 64)


def test_lora_ia3_and_prompt_facts() -> None:
    lora = facts("lora")
    assert (lora["method"], lora["rank"], lora["alpha"], lora["target_modules"]) == ("lora", 8, 8.0, ["query", "value"])
    assert lora["modules"]["encoder.layer.0.attention.self.query"]["in_features"] == 64
    ia3 = facts("ia3")
    assert ia3["method"] == "ia3" and ia3["rank"] is None
    assert ia3["modules"]["encoder.layer.0.intermediate.dense"] == {
        "kind": "ia3",
        "in_features": None,
        "out_features": 128,
        "rank": None,
    }
    prompt = facts("prompt_tuning")
    assert prompt["method"] == "prompt_tuning" and prompt["layers"] == []
    assert prompt["modules"] == {
        "embeddings.word_embeddings": {"kind": "embedding", "in_features": None, "out_features": 64, "rank": None}
    }


def test_old_lora_takes_alpha_equal_to_r_as_adapters_does() -> None:
    # adapter-hub/adapters#770: files from releases before 1.1.0 were trained with alpha := r.
    assert lora_alpha(adapters_config("lora", config={"alpha": 16})) == 16.0
    assert lora_alpha(adapters_config("lora", config={"alpha": 16}, version="adapters.1.0.1")) == 8.0


def test_head_facts_for_flexible_and_static_heads() -> None:
    header = header_of(adapters_spec("seq_bn"))
    flexible = HeadFiles(
        {"config": {"head_type": "classification", "num_labels": 3}, "name": "sst"},
        header_of({"heads.sst.1.weight": ("F32", [64, 64]), "heads.sst.4.weight": ("F32", [3, 64])}),
    )
    described = describe_adapters_adapter(adapters_config("seq_bn"), header, flexible).to_dict()
    assert described["head"] == {"name": "sst", "head_type": "classification", "num_labels": 3, "params": 4288}
    static = HeadFiles(
        {"config": None, "name": None, "num_labels": 2}, header_of({"classifier.weight": ("F32", [2, 64])})
    )
    assert describe_adapters_adapter(adapters_config("seq_bn"), header, static).head["head_type"] == "static"
    stray = HeadFiles({"config": {}, "name": "sst"}, header_of({"heads.other.1.weight": ("F32", [2, 64])}))
    with pytest.raises(InconsistentAdapterError, match=r"heads\.other\.1\.weight.*heads\.sst\."):
        describe_adapters_adapter(adapters_config("seq_bn"), header, stray)


@pytest.mark.parametrize(
    ("spec_change", "config", "message"),
    [
        ({"name": "other"}, {}, r"belongs to adapter 'other', but adapter_config\.json names 'ad'"),
        ({"hidden": 32}, {}, r"works on size 32, but adapter_config\.json says hidden_size 64"),
        ({}, {"config": {"leave_out": [1]}}, r"cover layers \[1\], which config\.leave_out leaves out"),
    ],
)
def test_refusals_name_the_tensor(spec_change: dict, config: dict, message: str) -> None:
    header = header_of(adapters_spec("seq_bn", **spec_change))
    with pytest.raises(InconsistentAdapterError, match=message):
        describe_adapters_adapter(adapters_config("seq_bn", **config), header)


def test_lora_rank_must_match_the_config() -> None:
    with pytest.raises(InconsistentAdapterError, match=r"do not share rank r=4"):
        describe_adapters_adapter(adapters_config("lora", config={"r": 4}), header_of(adapters_spec("lora")))


@pytest.mark.parametrize("document", [{"config": "seq_bn", "name": "x"}, {**adapters_config("seq_bn"), "name": ""}])
def test_malformed_configs_are_refused(document: dict[str, object]) -> None:
    with pytest.raises(AdapterConfigError):
        describe_adapters_adapter(document, header_of(adapters_spec("seq_bn")))


def test_a_hidden_64_bottleneck_is_refused_for_a_hidden_128_model_naming_the_modules() -> None:
    report = check_compatibility(facts("seq_bn"), bert_structure(128))
    assert not report.ok and {problem.kind for problem in report.errors} == {"shape_mismatch"}
    assert [problem.module for problem in report.errors] == [
        "encoder.layer.0.output.dense",
        "encoder.layer.1.output.dense",
    ]
    assert (
        "encoder.layer.0.output.dense: the adapter expects bottleneck in=? out=64 (rank 4); the model has linear "
        "in=256 out=128 (out differ)" in str(report)
    )
    assert check_compatibility(facts("seq_bn"), bert_structure(64)).ok


@pytest.mark.parametrize("method", ["lora", "ia3", "prompt_tuning", "double_seq_bn"])
def test_other_methods_are_checked_against_hidden_size_too(method: str) -> None:
    assert check_compatibility(facts(method), bert_structure(64)).ok
    assert not check_compatibility(facts(method), bert_structure(128)).ok


def test_layers_beyond_the_model_are_refused() -> None:
    report = check_compatibility(facts("seq_bn"), bert_structure(64, layers=1))
    assert [problem.kind for problem in report.errors][:2] == ["layer_count", "missing_module"]


def test_head_model_prefixes_are_lined_up_both_ways() -> None:
    # Saved from a BertForSequenceClassification ("bert." keys), checked against a BertModel, and back.
    assert check_compatibility(facts("seq_bn", prefix="bert."), bert_structure(64)).ok
    report = check_compatibility(facts("seq_bn"), bert_structure(64, prefix="bert."))
    assert report.ok and report.checked_modules == 2
    assert not check_compatibility(facts("seq_bn", prefix="bert."), bert_structure(128, prefix="bert.")).ok


def test_a_long_union_is_recorded_as_union() -> None:
    parts = [CONFIGS["lora"], CONFIGS["prompt_tuning"], CONFIGS["double_seq_bn"], {"architecture": "prefix_tuning"}]
    assert method_of({"architecture": "union", "configs": parts}) == "lora+prompt_tuning+double_seq_bn+prefix_tuning"
    document = adapters_config("lora") | {"config": {"architecture": "union", "configs": parts}}
    described = describe_adapters_adapter(document, header_of(adapters_spec("lora"))).to_dict()
    assert described["method"] == "union"  # the hub's method facet holds 32 characters
    assert described["components"] == ["lora", "prompt_tuning", "double_seq_bn", "prefix_tuning"]


def test_another_model_type_is_a_warning_that_pull_refuses_without_force() -> None:
    structure = bert_structure(64)
    other = type(structure)(structure.modules, model_type="roberta")
    report = check_compatibility(facts("lora"), other, base_model_type="bert")
    assert report.ok and [problem.kind for problem in report.warnings] == ["model_type_mismatch"]
