"""The header-only compatibility check (sdk/formats/compat.py), on hand-built facts and structures: no torch."""

from __future__ import annotations

import json
import time

import pytest

from sdk.formats.compat import CompatReport, ModelStructure, ModuleShape, Problem, check_compatibility
from sdk.formats.peft import describe_peft_adapter
from tests.sdk.formats.builders import PREFIX, header_of, llama_lora_spec, lora_config, lora_spec

LLAMA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def llama_structure(layers: int = 2, hidden: int = 64, kv: int = 32, inter: int = 128, **identity) -> ModelStructure:
    """The modules of a Llama (GQA: k/v out = kv) as model_structure reports them."""
    sizes = {"q_proj": (hidden, hidden), "k_proj": (hidden, kv), "v_proj": (hidden, kv), "o_proj": (hidden, hidden)}
    sizes |= {"gate_proj": (hidden, inter), "up_proj": (hidden, inter), "down_proj": (inter, hidden)}
    modules = {"model.embed_tokens": ModuleShape("embedding", 100, hidden)}
    for layer in range(layers):
        for name, (fan_in, fan_out) in sizes.items():
            block = "self_attn" if name in ATTENTION else "mlp"
            modules[f"model.layers.{layer}.{block}.{name}"] = ModuleShape("linear", fan_in, fan_out)
        modules[f"model.layers.{layer}.input_layernorm"] = ModuleShape("other", None, None)
    modules["model.norm"] = ModuleShape("other", None, None)
    modules["lm_head"] = ModuleShape("linear", hidden, 100)
    return ModelStructure(modules, **({"model_type": "llama", "num_layers": layers} | identity))


def llama_facts(layers: int = 2, targets=LLAMA_TARGETS, **config) -> dict:
    return describe_peft_adapter(
        lora_config(target_modules=list(targets), **config), header_of(llama_lora_spec(layers, 4, targets))
    ).to_dict()


def kinds(report: CompatReport) -> list[str]:
    return [problem.kind for problem in report.problems]


# the check


def test_identical_base_is_compatible_and_fingerprints_match():
    report = check_compatibility(llama_facts(), llama_structure(fingerprint="f" * 64), base_fingerprint="f" * 64)
    assert report.ok and report.problems == [] and report.checked_modules == 14
    assert report.fingerprint_match is True
    assert str(report) == "compatible (14 adapter modules checked; base fingerprint equal)"


def test_smaller_hidden_size_names_every_module_and_both_shapes():
    report = check_compatibility(llama_facts(), llama_structure(hidden=48, kv=24))
    assert not report.ok and set(kinds(report)) == {"shape_mismatch"} and len(report.errors) == 14
    q_proj = next(problem for problem in report.errors if problem.module == "model.layers.0.self_attn.q_proj")
    assert "in=64 out=64" in q_proj.message and "in=48 out=48" in q_proj.message
    v_proj = next(problem for problem in report.errors if problem.module == "model.layers.1.self_attn.v_proj")
    assert "in=64 out=32 (rank 4)" in v_proj.message and "linear in=48 out=24" in v_proj.message
    assert str(report).startswith("NOT compatible: 14 errors")


def test_gqa_projection_sizes_are_compared_exactly():
    report = check_compatibility(llama_facts(), llama_structure(kv=64))
    assert {problem.module.rsplit(".", 1)[1] for problem in report.errors} == {"k_proj", "v_proj"}
    assert all("(out differ)" in problem.message for problem in report.errors)


def test_adapter_for_a_deeper_model_gives_layer_count_and_each_missing_module():
    report = check_compatibility(llama_facts(layers=4), llama_structure(layers=2))
    assert kinds(report) == ["layer_count"] + ["missing_module"] * 14
    layer_count = report.errors[0]
    assert layer_count.module == "model.layers"
    assert "layers 0-3" in layer_count.message and "the model has 2 (0-1)" in layer_count.message
    assert "layers 2-3 are missing" in layer_count.message
    missing = [problem.module for problem in report.errors[1:]]
    assert set(missing) == set(llama_structure(layers=4).modules) - set(llama_structure(layers=2).modules) - {
        "model.layers.2.input_layernorm",
        "model.layers.3.input_layernorm",
    }
    assert missing[0].startswith("model.layers.2.") and missing[-1].startswith("model.layers.3.")  # layer order
    assert all(problem.module in str(report) for problem in report.problems)


def test_layer_count_comes_from_module_paths_when_the_structure_does_not_say():
    structure = llama_structure(layers=1, num_layers=None)
    assert kinds(check_compatibility(llama_facts(), structure))[0] == "layer_count"


def test_adapter_covering_fewer_layers_than_the_model_is_fine():
    assert check_compatibility(llama_facts(layers=2), llama_structure(layers=4)).ok


def test_fingerprint_and_model_type_differences_are_warnings():
    structure = llama_structure(fingerprint="a" * 64, model_type="mistral")
    report = check_compatibility(llama_facts(), structure, base_fingerprint="b" * 64, base_model_type="llama")
    assert report.ok and report.fingerprint_match is False
    assert kinds(report) == ["fingerprint_mismatch", "model_type_mismatch"]
    assert "bbbbbbbbbbbb" in str(report) and "'mistral'" in str(report)
    assert str(report).startswith("compatible, 2 warnings")


def test_unknown_fingerprint_on_either_side_is_not_judged():
    assert check_compatibility(llama_facts(), llama_structure(), base_fingerprint="b" * 64).fingerprint_match is None
    assert check_compatibility(llama_facts(), llama_structure(fingerprint="a")).fingerprint_match is None


def test_module_kinds_the_method_cannot_adapt_are_errors():
    facts = llama_facts(targets=("q_proj",))
    structure = llama_structure()
    modules = dict(structure.modules)
    modules["model.layers.0.self_attn.q_proj"] = ModuleShape("embedding", 64, 64)
    modules["model.layers.1.self_attn.q_proj"] = ModuleShape("other", None, None)
    report = check_compatibility(facts, ModelStructure(modules))
    assert kinds(report) == ["unsupported_module", "unsupported_module"]
    assert "is embedding, which it cannot adapt" in report.errors[0].message


def test_gpt2_conv1d_modules_take_linear_lora_tensors():
    facts = describe_peft_adapter(
        lora_config(target_modules=["c_attn"], fan_in_fan_out=True),
        header_of(lora_spec({"transformer.h.0.attn.c_attn": (32, 96, 4)})),
    ).to_dict()
    ok = ModelStructure({"transformer.h.0.attn.c_attn": ModuleShape("conv1d", 32, 96)})
    assert check_compatibility(facts, ok).ok
    swapped = ModelStructure({"transformer.h.0.attn.c_attn": ModuleShape("conv1d", 96, 32)})
    assert kinds(check_compatibility(facts, swapped)) == ["shape_mismatch"]


def test_embedding_and_conv_lora_are_checked_against_their_kinds():
    spec = {
        f"{PREFIX}emb.lora_embedding_A": ("F32", [4, 50]),
        f"{PREFIX}emb.lora_embedding_B": ("F32", [16, 4]),
        f"{PREFIX}conv.lora_A.weight": ("F32", [4, 16, 3, 3]),
        f"{PREFIX}conv.lora_B.weight": ("F32", [8, 4, 1, 1]),
    }
    facts = describe_peft_adapter(lora_config(target_modules=["emb", "conv"]), header_of(spec)).to_dict()
    good = ModelStructure({"emb": ModuleShape("embedding", 50, 16), "conv": ModuleShape("conv2d", 16, 8)})
    assert check_compatibility(facts, good).ok
    bad = ModelStructure({"emb": ModuleShape("embedding", 60, 16), "conv": ModuleShape("linear", 16, 8)})
    assert kinds(check_compatibility(facts, bad)) == ["unsupported_module", "shape_mismatch"]


def test_ia3_vectors_check_the_side_they_scale():
    spec = {
        f"{PREFIX}model.layers.0.mlp.down_proj.ia3_l": ("F32", [1, 128]),
        f"{PREFIX}model.layers.0.self_attn.k_proj.ia3_l": ("F32", [32, 1]),
    }
    config = {"peft_type": "IA3", "target_modules": ["down_proj", "k_proj"], "feedforward_modules": ["down_proj"]}
    facts = describe_peft_adapter(config, header_of(spec)).to_dict()
    assert check_compatibility(facts, llama_structure()).ok
    report = check_compatibility(facts, llama_structure(inter=256, kv=16))
    assert [problem.module.rsplit(".", 1)[1] for problem in report.errors] == ["down_proj", "k_proj"]


def test_saved_extras_for_modules_the_model_lacks_would_be_ignored():
    heads = {f"{PREFIX}score.weight": ("F32", [2, 64]), f"{PREFIX}lm_head.weight": ("F32", [100, 64])}
    spec = llama_lora_spec() | heads
    facts = describe_peft_adapter(lora_config(modules_to_save=["score", "lm_head"]), header_of(spec)).to_dict()
    report = check_compatibility(facts, llama_structure())
    assert [(problem.kind, problem.module) for problem in report.problems] == [("ignored_tensor", "score")]
    assert "base_model.model.score.weight" in report.errors[0].message


def test_report_to_dict_is_json_ready():
    report = check_compatibility(llama_facts(layers=3), llama_structure(), base_fingerprint="x" * 64)
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["ok"] is False and as_dict["checked_modules"] == 21
    assert as_dict["summary"].startswith("NOT compatible: 8 errors")
    assert as_dict["problems"][0] == {
        "module": "model.layers",
        "kind": "layer_count",
        "severity": "error",
        "message": report.problems[0].message,
    }


def test_str_groups_errors_before_warnings():
    report = CompatReport(
        [Problem("", "fingerprint_mismatch", "warning", "w"), Problem("a", "missing_module", "error", "e")], 1, False
    )
    assert str(report).splitlines() == [
        "NOT compatible: 1 error, 1 warning (1 adapter modules checked; base fingerprint differs)",
        "errors:",
        "  [missing_module] e",
        "warnings:",
        "  [fingerprint_mismatch] w",
    ]


def test_facts_must_be_a_dict_of_modules():
    with pytest.raises(TypeError):
        check_compatibility(["not", "facts"], llama_structure())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="facts\\['modules'\\]"):
        check_compatibility({"modules": {"a": 1}}, llama_structure())


def test_a_7b_shaped_check_is_fast():
    structure = llama_structure(layers=32, hidden=4096, kv=4096, inter=11008)
    facts = describe_peft_adapter(
        lora_config(target_modules=list(LLAMA_TARGETS), r=16),
        header_of(
            lora_spec(
                {path: (shape.in_features, shape.out_features, 16) for path, shape in structure.modules.items()
                 if path.endswith(LLAMA_TARGETS)}
            )
        ),
    ).to_dict()  # fmt: skip
    started = time.perf_counter()
    report = check_compatibility(facts, structure)
    elapsed = time.perf_counter() - started
    print(f"check_compatibility, 7B-shaped (224 modules): {elapsed * 1000:.2f} ms")
    assert report.ok and report.checked_modules == 224


# the structure's text and JSON forms


def test_from_text_reads_both_line_forms_and_skips_comments():
    structure = ModelStructure.from_text(
        """
        # pasted from model_structure(model).to_text()
        model.layers.0.self_attn.q_proj 64 64
        transformer.h.0.attn.c_attn conv1d 32 96   # GPT-2
        model.embed_tokens embedding 100 64
        model.norm other - -
        """
    )
    assert structure.modules == {
        "model.layers.0.self_attn.q_proj": ModuleShape("linear", 64, 64),
        "transformer.h.0.attn.c_attn": ModuleShape("conv1d", 32, 96),
        "model.embed_tokens": ModuleShape("embedding", 100, 64),
        "model.norm": ModuleShape("other", None, None),
    }
    assert ModelStructure.from_text(structure.to_text()) == structure


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a 1 2\nb 3", "line 2: expected"),
        ("a 1 2\n\nb linear 1 2 3 4", "line 3: expected"),
        ("a dense 1 2", "line 1: kind 'dense'"),
        ("a linear 1 x", "line 1 (a): size 'x'"),
        ("a linear 0 2", "line 1 (a): size 0"),
        ("a linear - 2", "line 1 (a): a linear module needs both sizes"),
        ("a 1 2\na 1 2", "line 2: module 'a' is listed twice"),
        ("# nothing\n", "no module listed"),
    ],
)
def test_from_text_names_the_bad_line(text, message):
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace(")", "\\)")):
        ModelStructure.from_text(text)


def test_to_dict_round_trips_through_json():
    structure = llama_structure(fingerprint="f" * 64)
    document = json.loads(json.dumps(structure.to_dict()))
    assert document["modules"]["model.layers.0.self_attn.k_proj"] == ["linear", 64, 32]
    assert ModelStructure.from_dict(document) == structure


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"modules": []},
        {"modules": {"a": ["dense", 1, 2]}},
        {"modules": {"a": ["linear", 1]}},
        {"modules": {"a": ["linear", True, 2]}},
        {"modules": {"": ["linear", 1, 2]}},
        {"modules": {"a": ["linear", 1, 2]}, "num_layers": -1},
        {"modules": {"a": ["linear", 1, 2]}, "model_type": 3},
    ],
)
def test_from_dict_refuses_malformed_documents(document):
    with pytest.raises(ValueError):
        ModelStructure.from_dict(document)
