"""Property test: on any config and any tensor names and shapes, describe_peft_adapter answers with
JSON-ready facts or raises a FormatError, nothing else."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdk.formats.errors import FormatError
from sdk.formats.peft import describe_peft_adapter, parse_peft_config
from tests.sdk.formats.builders import header_of, llama_lora_spec

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PEFT_TYPES = ["LORA", "ADALORA", "IA3", "PROMPT_TUNING", "PREFIX_TUNING", "MULTITASK_PROMPT_TUNING", "LOHA", "OFT"]
SEGMENTS = ["model", "layers", "h", "0", "1", "12", "self_attn", "q_proj", "v_proj", "embed_tokens", "lm_head", "mlp"]
SUFFIXES = [
    "lora_A.weight",
    "lora_B.weight",
    "lora_B.bias",
    "lora_A",
    "lora_B",
    "lora_E",
    "lora_embedding_A",
    "lora_embedding_B",
    "lora_magnitude_vector",
    "base_layer.weight",
    "base_layer.bias",
    "ia3_l",
    "hada_w1_a",
    "weight",
    "bias",
    "token_adapter.trainable_tokens_delta",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 10) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
names = st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3).map(".".join)
regexes = st.sampled_from([".*", r".*\.q_proj", "q_proj|v_proj", "(", "[a-z", "all-linear", "(a+)+$"])
field_values = {
    "r": st.integers(-1, 8) | json_values,
    "init_r": st.integers(0, 8) | json_values,
    "lora_alpha": st.integers(0, 32) | json_values,
    "target_modules": st.none() | st.lists(names, max_size=3) | regexes | json_values,
    "exclude_modules": st.none() | st.lists(names, max_size=2) | regexes,
    "feedforward_modules": st.none() | st.lists(names, max_size=2) | regexes,
    "modules_to_save": st.none() | st.lists(names, max_size=2) | json_values,
    "target_parameters": st.none() | st.lists(names, max_size=2) | json_values,
    "rank_pattern": st.dictionaries(names | regexes, st.integers(-1, 8) | json_values, max_size=2) | json_values,
    "bias": st.sampled_from(["none", "all", "lora_only"]) | json_values,
    "use_dora": st.booleans() | json_values,
    "lora_bias": st.booleans() | json_values,
    "layers_pattern": st.none() | names | st.lists(names, max_size=2) | json_values,
    "trainable_token_indices": st.none() | st.lists(st.integers(0, 5), max_size=2),
    "num_virtual_tokens": st.integers(-1, 6) | json_values,
    "token_dim": st.integers(0, 8) | json_values,
    "num_transformer_submodules": st.integers(0, 2) | json_values,
    "num_layers": st.integers(0, 3) | json_values,
    "task_type": st.sampled_from(["CAUSAL_LM", "SEQ_2_SEQ_LM"]) | json_values,
    "base_model_name_or_path": st.text(max_size=8) | json_values,
}
configs = st.fixed_dictionaries(
    {"peft_type": st.sampled_from([*PEFT_TYPES, "lora", "", "FUTURE"])}, optional=field_values
)
prefixes = st.sampled_from(["base_model.model.", "base_model.", ""])
keys = st.builds(lambda prefix, path, suffix: f"{prefix}{path}.{suffix}", prefixes, names, st.sampled_from(SUFFIXES))
random_specs = st.dictionaries(
    keys | st.just("prompt_embeddings") | st.just("lora_A.weight"),
    st.tuples(st.just("F16"), st.lists(st.integers(0, 6), max_size=4)),
    max_size=8,
)
# A consistent LoRA adapter with a few random tensors added or replaced, to reach the deeper checks.
specs = random_specs | st.builds(lambda extra: llama_lora_spec() | extra, random_specs)


@FUZZ
@given(configs, specs)
def test_describe_never_raises_anything_but_format_errors(config, spec):
    try:
        facts = describe_peft_adapter(config, header_of(spec))
    except FormatError:
        return
    json.dumps(facts.to_dict(), allow_nan=False)


@FUZZ
@given(st.binary(max_size=200) | configs.map(lambda config: json.dumps(config).encode()))
def test_parse_peft_config_never_raises_anything_but_format_errors(raw):
    with contextlib.suppress(FormatError):
        parse_peft_config(raw)
