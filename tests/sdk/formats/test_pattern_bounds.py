"""Config regexes cannot make a check burn CPU (issue 18, item 5): each hostile config is refused in
well under a second with InvalidAdapterConfig, and real PEFT patterns still pass."""

from __future__ import annotations

import time

import pytest

from sdk.formats._regex import compile_pattern
from sdk.formats.errors import AdapterConfigError
from sdk.formats.peft import describe_peft_adapter
from tests.sdk.formats.builders import header_of, llama_lora_spec, lora_config, lora_spec

# Generous for a slow shared machine; before the fix each case took from 5 s to minutes.
FAST = 1.0
LONG_PATH = "a" * 400


def timed_refusal(config: dict, spec: dict) -> tuple[str, float]:
    header = header_of(spec)
    started = time.perf_counter()
    with pytest.raises(AdapterConfigError) as refused:
        describe_peft_adapter(config, header)
    return str(refused.value), time.perf_counter() - started


def modules(count: int) -> dict[str, tuple[int, int, int]]:
    return {f"model.layers.{i}.mlp.up_proj": (8, 8, 4) for i in range(count)}


def test_bounded_repeats_in_a_row_are_refused_quickly():
    # Five a{0,80} then c over one 400-character path: 81**5 ways to split it (7.7 s, accepted, before).
    config = lora_config(target_modules=[LONG_PATH], exclude_modules="a{0,80}" * 5 + "c")
    message, seconds = timed_refusal(config, lora_spec({LONG_PATH: (8, 8, 4)}))
    assert "exclude_modules could take" in message and "the limit is" in message
    assert seconds < FAST


@pytest.mark.parametrize(
    ("pattern", "words"),
    [
        ("(a?){30}a{30}", "nested repetition"),  # a bounded repeat inside a repeat is still nested
        ("(?:a{1,3}){20}", "nested repetition"),
        (r"(a)\1*", "a backreference"),
    ],
)
def test_repeats_inside_repeats_are_refused_even_when_bounded(pattern, words):
    with pytest.raises(AdapterConfigError, match=f"exclude_modules uses {words}"):
        describe_peft_adapter(lora_config(exclude_modules=pattern), header_of(llama_lora_spec()))


@pytest.mark.parametrize("pattern", [r".*\..*\..*\.q", "a{0,80}" * 3 + "c{0,300}" + "x", ".*a.*a.*b"])
def test_patterns_within_the_repeat_count_but_too_costly_are_refused(pattern):
    # `.*\..*\..*\.q` alone takes 0.4 s per 512-dot path: the old rule (three unbounded repeats) let it in.
    with pytest.raises(AdapterConfigError, match=r"could take .* steps to match one 512-character module path"):
        describe_peft_adapter(lora_config(target_modules=pattern), header_of(llama_lora_spec()))


def test_rank_pattern_with_thousands_of_keys_is_refused_quickly():
    # 3,500 keys x 3,500 modules took 5.3 s before.
    rank_pattern = {f"layers.{i}.mlp.up_proj": 4 for i in range(3500)}
    message, seconds = timed_refusal(
        lora_config(target_modules=["up_proj"], rank_pattern=rank_pattern), lora_spec(modules(3500))
    )
    assert message == "rank_pattern has 3500 keys; the limit is 1000"
    assert seconds < FAST


def test_rank_pattern_keys_times_modules_is_bounded():
    rank_pattern = {rf"layers\.{i}\.mlp\.up_proj": 4 for i in range(600)}
    config = lora_config(target_modules=["up_proj"], rank_pattern=rank_pattern)
    message, seconds = timed_refusal(config, lora_spec(modules(3000)))
    assert "rank_pattern (600 keys) against 3000 modules could take" in message
    assert seconds < FAST


def test_a_per_module_rank_pattern_of_a_70b_model_is_accepted():
    targets = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    paths = [
        f"model.layers.{layer}.{'self_attn' if t[1] == '_' else 'mlp'}.{t}" for layer in range(80) for t in targets
    ]
    spec = lora_spec({path: (8, 8, 2) for path in paths})
    config = lora_config(target_modules=list(targets), rank_pattern={path: 2 for path in paths})
    started = time.perf_counter()
    facts = describe_peft_adapter(config, header_of(spec))
    assert len(facts.modules) == 560 and facts.rank == 2
    assert time.perf_counter() - started < 2 * FAST


REAL_PATTERNS = [
    r".*\.(q|v)_proj",
    r".*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)",
    r".*decoder.*(SelfAttention|EncDecAttention).*(q|v)$",  # PEFT's LoraConfig docstring
    r"^(?!.*vision).*\.(q_proj|v_proj)$",  # skip a vision tower
    r"model\.layers\.\d+\.self_attn\.(q|v)_proj",
    r".*\.layers\.\d+\..*\.(q|v)_proj",
    r"model.layers.[01].self_attn.(q_proj|v_proj)",
    r"(?:(?!mlp).)*_proj",
]


@pytest.mark.parametrize("pattern", REAL_PATTERNS)
def test_real_peft_patterns_still_pass(pattern):
    compile_pattern(pattern, "target_modules")
    if "decoder" not in pattern:
        facts = describe_peft_adapter(lora_config(target_modules=pattern), header_of(llama_lora_spec()))
        assert facts.target_modules == ["q_proj", "v_proj"]


@pytest.mark.parametrize("key", ["v_proj", r"layers\.0\..*", "model.layers.0.self_attn.q_proj", r"mlp\.(up|down)_proj"])
def test_real_rank_pattern_keys_still_pass(key):
    compile_pattern(rf"(.*\.)?({key})$", "rank_pattern key")


ADVERSARIAL_PATHS = ["." * 512, "a" * 512, "decoder" * 73, "SelfAttention." * 36, ".layers.1" * 56, "_proj" * 102]
CANDIDATES = [*REAL_PATTERNS, r".*\..*\.q", "a{0,80}" * 3 + "c", r"layers\.\d+\..*", r".*\.(\d+)\..*\.x"]


@pytest.mark.parametrize("pattern", CANDIDATES)
def test_patterns_the_guard_accepts_match_hostile_paths_fast(pattern):
    """The estimate is an upper bound: whatever it lets in, as a selector or a rank_pattern key, stays fast."""
    for source, match in ((pattern, "fullmatch"), (rf"(.*\.)?({pattern})$", "match")):
        try:
            compiled = compile_pattern(source, "pattern")
        except AdapterConfigError:
            continue
        started = time.perf_counter()
        for path in ADVERSARIAL_PATHS:
            getattr(compiled, match)(path)
        assert time.perf_counter() - started < 0.1, source
