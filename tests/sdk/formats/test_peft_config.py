"""adapter_config.json parsing, and config fields of the wrong type."""

from __future__ import annotations

import json

import pytest

from sdk.formats.errors import AdapterConfigError
from sdk.formats.peft import MAX_CONFIG_BYTES, describe_peft_adapter, is_peft_config, parse_peft_config
from tests.sdk.formats.builders import header_of, llama_lora_spec, lora_config


def test_parses_a_peft_config():
    raw = json.dumps(lora_config(), indent=2, sort_keys=True).encode()
    assert parse_peft_config(raw) == lora_config()


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b"\xff{}", "not valid UTF-8"),
        (b"{'peft_type': 'LORA'}", "not valid JSON"),
        (b'["LORA"]', "must be a JSON object, not list"),
        (b"{}", "peft_type must be a non-empty string, got None"),
        (b'{"peft_type": ""}', "non-empty string"),
        (b'{"peft_type": 3}', "got 3"),
        (b'{"peft_type": "lora"}', "must be written 'LORA'"),
        (b'{"peft_type": "LORA", "peft_type": "IA3"}', "duplicate key 'peft_type'"),
        (b'{"peft_type": "LORA", "lora_dropout": NaN}', "NaN is not a JSON value"),
        (b'{"peft_type": "LORA", "base_model_name_or_path": "\\udc00"}', "cannot be stored as UTF-8"),
        (b'{"peft_type": "LORA", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "not valid JSON"),
    ],
)
def test_rejections(raw, words):
    with pytest.raises(AdapterConfigError, match=words) as caught:
        parse_peft_config(raw)
    assert caught.value.code == "InvalidAdapterConfig"


def test_size_cap():
    raw = json.dumps({"peft_type": "LORA", "pad": "x" * MAX_CONFIG_BYTES}).encode()
    with pytest.raises(AdapterConfigError, match="limit is 1000000"):
        parse_peft_config(raw)


def test_unknown_peft_types_are_still_peft_configs():
    assert parse_peft_config(b'{"peft_type": "FUTURE_METHOD"}') == {"peft_type": "FUTURE_METHOD"}


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"peft_type": "LORA"}, True),
        ({"peft_type": " "}, False),
        ({"peft_type": None}, False),
        ({"adapter_type": "lora"}, False),
        (["peft_type"], False),
    ],
)
def test_is_peft_config(config, expected):
    assert is_peft_config(config) is expected


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"r": "4"}, "r must be an integer >= 1, got '4'"),
        ({"r": True}, "r must be an integer"),
        ({"r": 0}, "r must be an integer >= 1, got 0"),
        ({"lora_alpha": "8"}, "lora_alpha must be a number"),
        ({"use_dora": "yes"}, "use_dora must be true or false"),
        ({"use_rslora": 1}, "use_rslora must be true or false"),
        ({"target_modules": 5}, "target_modules must be a list of strings, got int"),
        ({"target_modules": ["q_proj", 1]}, "target_modules must hold non-empty strings, got 1"),
        ({"target_modules": "(unclosed"}, "target_modules is not a valid regular expression"),
        ({"target_modules": "a" * 1001}, "limit is 1000"),
        ({"target_modules": "(" * 900 + ")" * 90}, "target_modules is not a valid regular expression"),
        ({"modules_to_save": [None]}, "modules_to_save must hold non-empty strings"),
        ({"exclude_modules": {"q": 1}}, "exclude_modules must be a list of strings"),
        ({"rank_pattern": ["v_proj"]}, "rank_pattern must be an object"),
        ({"rank_pattern": {"v_proj": 2.0}}, r"rank_pattern\['v_proj'\] must be a positive integer"),
        ({"rank_pattern": {"v_proj[": 2}}, r"rank_pattern key .v_proj\[. is not a valid regular expression"),
        ({"base_model_name_or_path": 7}, "base_model_name_or_path must be a string"),
        ({"peft_version": ["0.21"]}, "peft_version must be a string"),
        ({"bias": False}, "bias must be a string"),
        ({"layers_pattern": [3]}, "layers_pattern must hold non-empty strings"),
    ],
)
def test_config_fields_of_the_wrong_type(overrides, words):
    with pytest.raises(AdapterConfigError, match=words):
        describe_peft_adapter(lora_config(**overrides), header_of(llama_lora_spec()))


def test_describe_refuses_configs_that_are_not_objects():
    with pytest.raises(AdapterConfigError, match="must be a JSON object"):
        describe_peft_adapter(["LORA"], header_of(llama_lora_spec()))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("(a+)+$", "nested repetition"),
        (r"model\.layers\.(\d+\.)+q_proj", "nested repetition"),
        ("(a|aa)*$", "a repeated alternation"),
        (".*a.*a.*a.*b", "4 unbounded repeats"),
    ],
)
def test_patterns_that_could_backtrack_for_ages_are_refused(pattern, words):
    with pytest.raises(AdapterConfigError, match=f"target_modules uses {words}"):
        describe_peft_adapter(lora_config(target_modules=pattern), header_of(llama_lora_spec()))


@pytest.mark.parametrize(
    "pattern",
    [r".*\.(q|v)_proj", r".*(SelfAttention|EncDecAttention|layers).*(q|v)_proj$", r"model\.layers\.\d+\..*_proj"],
)
def test_real_world_patterns_are_accepted(pattern):
    facts = describe_peft_adapter(lora_config(target_modules=pattern), header_of(llama_lora_spec()))
    assert facts.target_modules == ["q_proj", "v_proj"]


def test_numbers_beyond_float_range_are_refused():
    with pytest.raises(AdapterConfigError, match="1e999 is out of range"):
        parse_peft_config(b'{"peft_type": "LORA", "lora_alpha": 1e999}')
    with pytest.raises(AdapterConfigError, match="lora_alpha must be a number"):
        describe_peft_adapter(lora_config(lora_alpha=10**400), header_of(llama_lora_spec()))


@pytest.mark.parametrize("peft_type", ["LORA V2", "x" * 65, "1LORA", "lora-x"])
def test_peft_type_must_be_an_identifier(peft_type):
    with pytest.raises(AdapterConfigError, match="is not a PEFT type name"):
        parse_peft_config(json.dumps({"peft_type": peft_type}).encode())
