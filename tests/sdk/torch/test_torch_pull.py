"""pull_into: the check before loading refuses what PEFT lets through; other methods go through peft."""

from __future__ import annotations

import sys
import time
import warnings

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
transformers = pytest.importorskip("transformers")

from sdk.formats import PEFT_WEIGHTS_NAME, describe_peft_adapter  # noqa: E402
from sdk.formats.compat import check_compatibility  # noqa: E402
from sdk.torch import (  # noqa: E402
    IncompatibleAdapterError,
    UnsupportedMethodError,
    inject_adapter,
    model_structure,
    pull_into,
)
from sdk.torch.layers import AdapterWrapper  # noqa: E402
from tests.sdk.formats.builders import header_of, lora_config, lora_spec  # noqa: E402
from tests.sdk.torch.peft_helpers import (  # noqa: E402
    LLAMA_LINEAR,
    inputs,
    logits,
    modules_by_path,
    peft_logits,
    save_adapter,
    tiny_llama,
)


@pytest.fixture(scope="module")
def llama_lora(tmp_path_factory):
    return save_adapter(tiny_llama, peft.LoraConfig(r=4, target_modules=LLAMA_LINEAR), tmp_path_factory.mktemp("lora"))


@pytest.fixture(scope="module")
def deep_lora(tmp_path_factory):
    """An adapter trained on a 4-layer Llama."""
    return save_adapter(
        lambda: tiny_llama(num_hidden_layers=4),
        peft.LoraConfig(r=4, target_modules=LLAMA_LINEAR),
        tmp_path_factory.mktemp("deep"),
    )


def refused(model, folder, **options) -> IncompatibleAdapterError:
    before = modules_by_path(model)
    with pytest.raises(IncompatibleAdapterError) as caught:
        pull_into(model, folder, **options)
    assert modules_by_path(model) == before, "a refused adapter must leave the model untouched"
    return caught.value


def test_identical_base_loads_with_peft_outputs(llama_lora):
    model = tiny_llama()
    handle = pull_into(model, llama_lora, base_fingerprint=model_structure(tiny_llama()).fingerprint)
    assert len(handle.modules) == 14 and model.hub_adapters["default"] is handle
    ids = inputs()
    assert (logits(model, ids) - peft_logits(tiny_llama, llama_lora, ids)).abs().max().item() <= 1e-5


def test_smaller_hidden_size_is_refused_per_module(llama_lora):
    error = refused(tiny_llama(hidden_size=32), llama_lora)
    assert {problem.kind for problem in error.report.problems} == {"shape_mismatch"}
    assert len(error.report.errors) == 14
    for layer in range(2):
        for block, name in [("self_attn", "q_proj"), ("self_attn", "v_proj"), ("mlp", "down_proj")]:
            assert f"model.layers.{layer}.{block}.{name}" in str(error)
    assert str(llama_lora) in str(error)


def test_deeper_adapter_into_shallower_model_peft_silent_we_refuse(deep_lora):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        peft.PeftModel.from_pretrained(tiny_llama(), str(deep_lora))  # loads: the layer 2-3 tensors are dropped
    assert not [warning for warning in caught if "layers.2" in str(warning.message)]
    error = refused(tiny_llama(), deep_lora)
    kinds = [problem.kind for problem in error.report.problems]
    assert kinds == ["layer_count"] + ["missing_module"] * 14
    assert "layers 2-3 are missing" in str(error)
    assert "model.layers.3.mlp.down_proj" in str(error) and "model.layers.2.self_attn.k_proj" in str(error)


def test_shallower_adapter_into_deeper_model_is_fine(llama_lora):
    handle = pull_into(tiny_llama(num_hidden_layers=3), llama_lora)
    assert all(path.startswith(("model.layers.0.", "model.layers.1.")) for path in handle.modules)


def test_warnings_refuse_unless_forced(llama_lora):
    error = refused(tiny_llama(), llama_lora, base_fingerprint="0" * 64, base_model_type="mistral")
    assert error.report.ok and "force=True" in str(error)
    assert [problem.kind for problem in error.report.warnings] == ["fingerprint_mismatch", "model_type_mismatch"]
    assert pull_into(tiny_llama(), llama_lora, base_fingerprint="0" * 64, force=True).modules


def test_force_never_overrides_shape_errors(llama_lora):
    refused(tiny_llama(hidden_size=32), llama_lora, force=True)


def test_a_7b_shaped_meta_model_is_checked_quickly():
    config = transformers.LlamaConfig(
        hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32, vocab_size=32000
    )
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    started = time.perf_counter()
    structure = model_structure(model)
    walked = time.perf_counter()
    modules = {path: (shape.in_features, shape.out_features, 16) for path, shape in structure.modules.items()
               if path.endswith(tuple(LLAMA_LINEAR))}  # fmt: skip
    facts = describe_peft_adapter(lora_config(target_modules=LLAMA_LINEAR, r=16), header_of(lora_spec(modules)))
    checked = time.perf_counter()
    report = check_compatibility(facts.to_dict(), structure, base_fingerprint=structure.fingerprint)
    done = time.perf_counter()
    print(
        f"\n7B-shaped Llama on meta: model_structure {(walked - started) * 1000:.1f} ms, "
        f"check_compatibility {(done - checked) * 1000:.2f} ms ({report.checked_modules} modules)"
    )
    assert report.ok and report.checked_modules == 224 and report.fingerprint_match


# methods without a native implementation


@pytest.fixture(scope="module")
def llama_loha(tmp_path_factory):
    config = peft.LoHaConfig(r=4, alpha=8, target_modules=["q_proj", "v_proj"], init_weights=False)
    return save_adapter(tiny_llama, config, tmp_path_factory.mktemp("loha"))


def test_other_methods_delegate_to_peft(llama_loha):
    model = tiny_llama().eval()
    before, ids = modules_by_path(model), inputs()
    base = logits(model, ids)
    handle = pull_into(model, llama_loha)
    assert type(handle).__name__ == "PeftAdapterHandle" and handle.method == "loha"
    adapted = logits(model, ids)
    assert (adapted - peft_logits(tiny_llama, llama_loha, ids)).abs().max().item() <= 1e-5
    handle.disable()
    assert torch.equal(logits(model, ids), base)
    handle.enable()
    handle.unload()
    assert all(modules_by_path(model)[path] is module for path, module in before.items())
    assert torch.equal(logits(model, ids), base) and model.hub_adapters == {}


def test_delegated_merge_matches_unmerged(llama_loha):
    model, ids = tiny_llama().eval(), inputs()
    handle = pull_into(model, llama_loha)
    adapted = logits(model, ids)
    handle.merge()
    assert (logits(model, ids) - adapted).abs().max().item() <= 1e-4


def test_lora_with_modules_to_save_goes_through_peft(tmp_path):
    config = peft.LoraConfig(r=4, target_modules=["q_proj"], modules_to_save=["lm_head"])
    folder = save_adapter(tiny_llama, config, tmp_path)
    model, ids = tiny_llama().eval(), inputs()
    handle = pull_into(model, folder)
    assert type(handle).__name__ == "PeftAdapterHandle"
    assert (logits(model, ids) - peft_logits(tiny_llama, folder, ids)).abs().max().item() <= 1e-5


def test_without_peft_other_methods_fail_clearly(llama_loha, monkeypatch):
    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` now raises ImportError
    with pytest.raises(UnsupportedMethodError) as caught:
        pull_into(tiny_llama(), llama_loha)
    message = str(caught.value)
    assert "LOHA" in message and "pip install adapter-hub[torch] peft" in message and str(llama_loha) in message


def test_inject_adapter_itself_is_native_only(llama_loha):
    from safetensors.torch import load_file

    with pytest.raises(UnsupportedMethodError, match="LOHA"):
        inject_adapter(tiny_llama(), {"peft_type": "LOHA"}, load_file(llama_loha / PEFT_WEIGHTS_NAME))
    model = tiny_llama()
    assert not any(isinstance(module, AdapterWrapper) for module in model.modules())
