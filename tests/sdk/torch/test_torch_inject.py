"""inject_adapter / load_adapter_folder: every tensor applied or nothing changes; adapters side by side."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
peft = pytest.importorskip("peft")
pytest.importorskip("transformers")
from safetensors.torch import load_file  # noqa: E402

from sdk.formats import PEFT_WEIGHTS_NAME  # noqa: E402
from sdk.torch import AdapterLoadError, inject_adapter, load_adapter_folder  # noqa: E402
from sdk.torch.layers import AdapterWrapper  # noqa: E402
from tests.sdk.torch.peft_helpers import inputs, logits, modules_by_path, save_adapter, tiny_gpt2, tiny_llama  # noqa: E402

GPT2_LORA = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["c_attn"], "fan_in_fan_out": True}


@pytest.fixture(scope="module")
def gpt2_folders(tmp_path_factory):
    """Two LoRA adapters for the tiny GPT-2: on c_attn, and on c_attn + c_fc."""
    first = save_adapter(tiny_gpt2, peft.LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True),
                         tmp_path_factory.mktemp("a"), seed=1)  # fmt: skip
    second = save_adapter(tiny_gpt2, peft.LoraConfig(r=2, target_modules=["c_attn", "c_fc"], fan_in_fan_out=True),
                          tmp_path_factory.mktemp("b"), seed=2)  # fmt: skip
    return first, second


def assert_untouched(model, before) -> None:
    assert modules_by_path(model) == before
    assert not any(isinstance(module, AdapterWrapper) for module in model.modules())


def test_a_tensor_matching_nothing_is_named_and_nothing_changes(gpt2_folders):
    tensors = load_file(gpt2_folders[0] / PEFT_WEIGHTS_NAME)
    tensors["base_model.model.transformer.h.0.attn.c_attn.lora_C.weight"] = torch.zeros(2, 2)
    model = tiny_gpt2()
    before = modules_by_path(model)
    with pytest.raises(AdapterLoadError, match=r"(?s)only 4 of its 5 tensors.*lora_C\.weight"):
        inject_adapter(model, GPT2_LORA, tensors, source="my-adapter")
    assert_untouched(model, before)


def test_modules_the_model_lacks_are_named(gpt2_folders):
    tensors = load_file(gpt2_folders[0] / PEFT_WEIGHTS_NAME)
    tensors = {key.replace("h.1.", "h.7."): value for key, value in tensors.items()}
    with pytest.raises(AdapterLoadError, match=r"module 'transformer\.h\.7\.attn\.c_attn' is not in the model"):
        inject_adapter(tiny_gpt2(), GPT2_LORA, tensors)


def test_shapes_are_checked_without_the_header_check(tmp_path):
    folder = save_adapter(tiny_llama, peft.LoraConfig(r=4, target_modules=["q_proj"]), tmp_path)
    model = tiny_llama(hidden_size=32)
    before = modules_by_path(model)
    with pytest.raises(AdapterLoadError) as caught:
        load_adapter_folder(model, folder)
    message = str(caught.value)
    assert str(folder) in message and PEFT_WEIGHTS_NAME in message
    assert "model.layers.0.self_attn.q_proj" in message and "[4, 64], expected [4, 32]" in message
    assert_untouched(model, before)


def test_rank_disagreeing_with_the_config_is_refused(gpt2_folders):
    tensors = load_file(gpt2_folders[0] / PEFT_WEIGHTS_NAME)
    with pytest.raises(AdapterLoadError, match="rank 8 from the config"):
        inject_adapter(tiny_gpt2(), GPT2_LORA | {"r": 8}, tensors)


def test_names_are_unique_per_model(gpt2_folders):
    model = tiny_gpt2()
    load_adapter_folder(model, gpt2_folders[0])
    with pytest.raises(ValueError, match="already holds an adapter named 'default'"):
        load_adapter_folder(model, gpt2_folders[1])
    with pytest.raises(ValueError, match=r"without '\.'"):
        load_adapter_folder(model, gpt2_folders[1], adapter_name="a.b")


def test_two_adapters_side_by_side(gpt2_folders):
    ids = inputs()
    alone = {}
    for name, folder in zip("ab", gpt2_folders, strict=True):
        model = tiny_gpt2()
        load_adapter_folder(model, folder)
        alone[name] = logits(model, ids)
    model = tiny_gpt2()
    base, before = logits(model, ids), modules_by_path(model)
    first = load_adapter_folder(model, gpt2_folders[0], adapter_name="a")
    second = load_adapter_folder(model, gpt2_folders[1], adapter_name="b")
    assert set(model.hub_adapters) == {"a", "b"}
    both = logits(model, ids)
    assert not torch.allclose(both, alone["a"]) and not torch.allclose(both, alone["b"])
    wrapper = model.get_submodule("transformer.h.0.attn.c_attn")
    assert wrapper.active == ["a", "b"]
    first.disable()
    assert torch.allclose(logits(model, ids), alone["b"], atol=1e-6)
    first.enable()
    first.unload()
    assert torch.allclose(logits(model, ids), alone["b"], atol=1e-6)
    assert model.get_submodule("transformer.h.0.attn.c_attn") is wrapper  # still holds "b"
    second.unload()
    assert all(modules_by_path(model)[path] is module for path, module in before.items())
    assert torch.equal(logits(model, ids), base)
    with pytest.raises(RuntimeError, match="already unloaded"):
        second.enable()


def test_wrappers_pass_attribute_reads_to_the_base_module(tmp_path):
    folder = save_adapter(tiny_llama, peft.LoraConfig(r=4, target_modules=["embed_tokens", "lm_head"]), tmp_path)
    model = tiny_llama()
    embedding = model.get_input_embeddings()
    load_adapter_folder(model, folder)
    wrapped = model.get_input_embeddings()
    assert isinstance(wrapped, AdapterWrapper) and wrapped.weight is embedding.weight
    assert wrapped.num_embeddings == 100


def test_merge_refuses_weights_tied_to_another_module(tmp_path):
    config = peft.LoraConfig(r=4, target_modules=["wte", "c_attn"], fan_in_fan_out=True)
    folder = save_adapter(tiny_gpt2, config, tmp_path)
    model, ids = tiny_gpt2(), inputs()
    handle = load_adapter_folder(model, folder)
    adapted = logits(model, ids)
    with pytest.raises(RuntimeError, match=r"'transformer\.wte' is tied to 'lm_head'"):
        handle.merge()
    assert torch.equal(logits(model, ids), adapted) and handle.state == "enabled"
