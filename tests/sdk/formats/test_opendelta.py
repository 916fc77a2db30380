"""OpenDelta delta folders from config.json and the converted header: facts, refusals, compatibility.

OpenDelta 0.3.2 cannot be installed beside current transformers (it imports transformers.deepspeed), so the
folders are built by hand as its source writes them (tests/adapters_lib/folders.py); the native pull is
checked against OpenDelta's own arithmetic in tests/adapters_lib/test_opendelta_pull.py.
"""

from __future__ import annotations

import pytest

from sdk.formats.compat import check_compatibility
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.opendelta import describe_opendelta_adapter, lora_key_module
from tests.adapters_lib.folders import opendelta_config, opendelta_spec
from tests.sdk.formats.builders import header_of
from tests.sdk.formats.test_adapters_format import bert_structure


def test_lora_delta_facts() -> None:
    facts = describe_opendelta_adapter(opendelta_config(), header_of(opendelta_spec())).to_dict()
    assert (facts["library"], facts["method"], facts["delta_type"]) == ("opendelta", "lora", "lora")
    assert (facts["rank"], facts["alpha"], facts["library_version"]) == (4, 8.0, "0.3.2")
    assert facts["backbone_class"] == "BertForSequenceClassification" and facts["base_model"] == "tiny-bert"
    assert facts["backbone_hash"] == "3f1c0f0c5d3c1a9fb1d2e0c4a7b6d5e4"
    assert facts["target_modules"] == ["query", "value"] and facts["layers"] == [0, 1]
    assert facts["modules"]["bert.encoder.layer.1.attention.self.value"] == {
        "kind": "linear",
        "in_features": 64,
        "out_features": 64,
        "rank": 4,
    }
    assert facts["extra_tensors"] == [] and facts["trainable_params"] == 2 * 2 * (4 * 64 + 64 * 4)


def test_defaults_fill_fields_a_diff_config_leaves_out() -> None:
    # to_json_file(use_diff=True) drops lora_r/lora_alpha when left at LoraConfig's 8 and 16.
    config = {key: value for key, value in opendelta_config().items() if key not in ("lora_r", "lora_alpha")}
    facts = describe_opendelta_adapter(config, header_of(opendelta_spec(rank=8))).to_dict()
    assert (facts["rank"], facts["alpha"]) == (8, 16.0)


def test_unfrozen_modules_are_extra_tensors_and_other_types_are_recorded() -> None:
    spec = {**opendelta_spec(), "classifier.weight": ("F32", [2, 64])}
    facts = describe_opendelta_adapter(opendelta_config(unfrozen_modules=["deltas", "classifier"]), header_of(spec))
    assert facts.extra_tensors == ["classifier.weight"] and facts.unfrozen_modules == ["deltas", "classifier"]
    adapter = {"bert.encoder.layer.0.output.adapter.modulelist.down_proj.weight": ("F32", [16, 64])}
    other = describe_opendelta_adapter(opendelta_config(delta_type="adapter"), header_of(adapter))
    assert (other.method, other.modules, other.layers, other.extra_tensors) == ("adapter", {}, [0], [])


@pytest.mark.parametrize(
    ("spec", "config", "error", "message"),
    [
        (opendelta_spec(rank=2), {}, InconsistentAdapterError, r"lora_A \[2, 64\].*lora_r=4"),
        ({"bert.x.lora.lora_A": ("F32", [4, 64])}, {}, InconsistentAdapterError, r"'bert\.x': lora_B is missing"),
        ({"classifier.weight": ("F32", [2, 64])}, {}, InconsistentAdapterError, r"without any <module>\.lora"),
        (
            {**opendelta_spec(), "bert.y.adapter.up.weight": ("F32", [4, 4])},
            {},
            InconsistentAdapterError,
            r"delta parameter that a LoRA delta does not have",
        ),
        (opendelta_spec(), {"lora_r": 0}, AdapterConfigError, r"lora_r must be a positive integer"),
        (opendelta_spec(), {"delta_type": ""}, AdapterConfigError, r"not an OpenDelta delta config"),
        (opendelta_spec(), {"delta_type": "lora; drop"}, AdapterConfigError, r"not a delta type name"),
    ],
)
def test_refusals(spec: dict, config: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        describe_opendelta_adapter(opendelta_config(**config), header_of(spec))


def test_key_mapping() -> None:
    assert lora_key_module("bert.encoder.layer.0.attention.self.query.lora.lora_A") == (
        "bert.encoder.layer.0.attention.self.query",
        "A",
    )
    assert lora_key_module("lora.lora_B") is None and lora_key_module("classifier.weight") is None


def test_compatibility_lines_up_the_backbone_prefix() -> None:
    facts = describe_opendelta_adapter(opendelta_config(), header_of(opendelta_spec())).to_dict()
    assert check_compatibility(facts, bert_structure(64)).ok  # saved on BertForSequenceClassification
    assert check_compatibility(facts, bert_structure(64, prefix="bert.")).ok
    report = check_compatibility(facts, bert_structure(128, prefix="bert."))
    assert {problem.module for problem in report.errors} >= {"bert.encoder.layer.0.attention.self.query"}
