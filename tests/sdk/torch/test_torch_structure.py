"""model_structure and base_fingerprint: base paths and shapes, wrappers unwrapped, dtype ignored."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")

from sdk.formats.compat import ModuleShape  # noqa: E402
from sdk.torch import base_fingerprint, load_adapter_folder, model_structure, parameter_dtype  # noqa: E402
from tests.sdk.torch.peft_helpers import LLAMA_LINEAR, TinyVision, save_adapter, tiny_gpt2, tiny_llama  # noqa: E402


def test_llama_structure_has_gqa_shapes_model_type_and_layer_count():
    structure = model_structure(tiny_llama())
    assert (structure.model_type, structure.num_layers) == ("llama", 2)
    assert structure.modules["model.layers.1.self_attn.q_proj"] == ModuleShape("linear", 64, 64)
    assert structure.modules["model.layers.1.self_attn.k_proj"] == ModuleShape("linear", 64, 32)
    assert structure.modules["model.layers.0.mlp.down_proj"] == ModuleShape("linear", 128, 64)
    assert structure.modules["model.embed_tokens"] == ModuleShape("embedding", 100, 64)
    assert structure.modules["model.norm"] == ModuleShape("other", None, None)
    assert structure.fingerprint == base_fingerprint(tiny_llama())


def test_gpt2_conv1d_reports_in_and_out_from_its_transposed_weight():
    structure = model_structure(tiny_gpt2())
    assert (structure.model_type, structure.num_layers) == ("gpt2", 2)
    assert structure.modules["transformer.h.0.attn.c_attn"] == ModuleShape("conv1d", 32, 96)
    assert structure.modules["transformer.h.1.mlp.c_proj"] == ModuleShape("conv1d", 128, 32)


def test_plain_modules_get_their_kinds_and_no_model_type():
    structure = model_structure(TinyVision())
    assert structure.modules == {
        "emb": ModuleShape("embedding", 50, 16),
        "conv": ModuleShape("conv2d", 16, 8),
        "pointwise": ModuleShape("conv2d", 8, 8),
        "head": ModuleShape("linear", 8, 4),
    }
    assert (structure.model_type, structure.num_layers) == (None, None)


def test_fingerprint_is_structural():
    assert base_fingerprint(tiny_llama()) == base_fingerprint(tiny_llama())
    assert base_fingerprint(tiny_llama(num_hidden_layers=3)) != base_fingerprint(tiny_llama())
    assert base_fingerprint(tiny_llama(hidden_size=32)) != base_fingerprint(tiny_llama())
    assert base_fingerprint(tiny_llama(num_key_value_heads=4)) != base_fingerprint(tiny_llama())


def test_fingerprint_ignores_dtype_which_is_reported_apart():
    half = tiny_llama().to(torch.float16)
    assert base_fingerprint(half) == base_fingerprint(tiny_llama())
    assert (parameter_dtype(half), parameter_dtype(tiny_llama())) == ("float16", "float32")


def test_meta_device_models_give_the_same_structure():
    with torch.device("meta"):
        meta = tiny_llama()
    assert model_structure(meta) == model_structure(tiny_llama())


@pytest.mark.parametrize(
    "config",
    [
        lambda: peft.LoraConfig(r=4, target_modules=[*LLAMA_LINEAR, "embed_tokens"], modules_to_save=["lm_head"]),
        lambda: peft.IA3Config(target_modules=["k_proj", "down_proj"], feedforward_modules=["down_proj"]),
        lambda: peft.LoHaConfig(r=4, target_modules=["q_proj", "v_proj"]),
    ],
    ids=["lora-with-modules-to-save", "ia3", "loha"],
)
def test_peft_models_report_their_base(config):
    expected = model_structure(tiny_llama())
    wrapped = peft.get_peft_model(tiny_llama(), config())
    assert model_structure(wrapped) == expected
    assert base_fingerprint(wrapped.base_model.model) == expected.fingerprint


def test_native_injection_keeps_structure_and_fingerprint(tmp_path):
    config = peft.LoraConfig(r=4, target_modules=["c_attn", "wte"], fan_in_fan_out=True)
    folder = save_adapter(tiny_gpt2, config, tmp_path)
    model = tiny_gpt2()
    expected = model_structure(model)
    load_adapter_folder(model, folder)
    assert model_structure(model) == expected
