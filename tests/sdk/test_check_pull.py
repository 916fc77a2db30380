"""hub.check (from the version's facts, no weight byte) and hub.pull(into=model) against a live hub."""

from __future__ import annotations

from typing import Any

import pytest

from sdk import Hub
from sdk.formats.compat import ModelStructure
from tests.sdk.test_support import Traffic

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.usefixtures("sdk_env"), pytest.mark.slow]
TOKENS = [[1, 5, 9, 2, 7]]


@pytest.fixture
def llama_lora(hub: Hub, traffic: Traffic) -> Any:
    """A LoRA on every projection of a tiny Llama, published with its base (fingerprint recorded)."""
    from peft import LoraConfig, get_peft_model

    from tests.sdk.formats.models import tiny_llama

    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False, use_rslora=True)
    model = get_peft_model(tiny_llama(), config)
    hub.publish(model, "alice/llama-all", base_model="tiny/llama-test")
    traffic.reset()
    return model


def test_check_on_the_identical_base_is_ok_and_downloads_nothing(hub: Hub, traffic: Traffic, llama_lora) -> None:
    from tests.sdk.formats.models import tiny_llama

    report = hub.check("alice/llama-all", tiny_llama())
    assert report.ok and report.fingerprint_match is True and report.problems == []
    assert report.checked_modules == 14
    assert traffic.file_requests() == [] and traffic.file_bytes_sent == 0
    assert len(traffic.requests) == 1  # the version document only


def test_check_names_shape_errors_per_module(hub: Hub, traffic: Traffic, llama_lora) -> None:
    from tests.sdk.formats.models import tiny_llama

    report = hub.check("alice/llama-all", tiny_llama(hidden_size=32, intermediate_size=64))
    assert not report.ok and report.fingerprint_match is False
    mismatched = {problem.module for problem in report.errors if problem.kind == "shape_mismatch"}
    assert "model.layers.0.self_attn.q_proj" in mismatched and "model.layers.1.mlp.down_proj" in mismatched
    assert "shape_mismatch" in str(report)
    assert traffic.file_requests() == []


def test_check_names_missing_layers(hub: Hub, traffic: Traffic, llama_lora) -> None:
    from tests.sdk.formats.models import tiny_llama

    report = hub.check("alice/llama-all", tiny_llama(num_hidden_layers=1))
    kinds = {problem.kind for problem in report.errors}
    assert kinds == {"layer_count", "missing_module"}
    assert any(problem.module == "model.layers.1.self_attn.q_proj" for problem in report.errors)
    assert traffic.file_requests() == []


def test_check_against_a_structure_written_as_text(hub: Hub, llama_lora) -> None:
    lines = [
        f"model.layers.{i}.self_attn.{p} 64 {32 if p in ('k_proj', 'v_proj') else 64}"
        for i in range(2)
        for p in ("q_proj", "k_proj", "v_proj", "o_proj")
    ]
    lines += [f"model.layers.{i}.mlp.{p} 64 128" for i in range(2) for p in ("gate_proj", "up_proj")]
    lines += [f"model.layers.{i}.mlp.down_proj 128 64" for i in range(2)]
    assert hub.check("alice/llama-all", ModelStructure.from_text("\n".join(lines))).ok
    report = hub.check("alice/llama-all@v1", ModelStructure.from_text("\n".join(lines[1:])))
    assert [problem.module for problem in report.errors] == ["model.layers.0.self_attn.q_proj"]


def test_pull_matches_peft_and_a_second_pull_transfers_nothing(hub: Hub, traffic: Traffic, llama_lora) -> None:
    import torch
    from peft import PeftModel

    from tests.sdk.formats.models import tiny_llama

    tokens = torch.tensor(TOKENS)
    reference = PeftModel.from_pretrained(tiny_llama(), hub.download("alice/llama-all"))
    traffic.reset()
    pulled = hub.pull("alice/llama-all", into=tiny_llama())
    assert traffic.file_requests() == []  # the folder was already in the cache
    with torch.no_grad():
        difference = (pulled(tokens).logits - reference(tokens).logits).abs().max().item()
    assert difference < 1e-5
    assert pulled.hub_adapters["default"].method == "lora"
    traffic.reset()
    hub.pull("alice/llama-all@v1", into=tiny_llama(), adapter_name="again")
    assert traffic.file_bytes_sent == 0 and len(traffic.requests) == 1  # "v1" is looked up, nothing fetched


def test_pull_refuses_an_incompatible_adapter_before_downloading(hub: Hub, traffic: Traffic, llama_lora) -> None:
    from sdk.torch.errors import IncompatibleAdapterError
    from tests.sdk.formats.models import tiny_llama

    shallow = tiny_llama(num_hidden_layers=1)
    with pytest.raises(IncompatibleAdapterError) as caught:
        hub.pull("alice/llama-all", into=shallow)
    message = str(caught.value)
    assert "alice/llama-all@main (v1, revision" in message and "model.layers.1.mlp.down_proj" in message
    assert traffic.file_requests() == []
    assert not hasattr(shallow, "hub_adapters")


def test_pull_refuses_a_different_base_unless_forced(hub: Hub, llama_lora) -> None:
    from sdk.torch.errors import IncompatibleAdapterError
    from tests.sdk.formats.models import tiny_llama

    other_vocabulary = tiny_llama(vocab_size=120)  # same projections, another base: only a warning
    with pytest.raises(IncompatibleAdapterError, match="force=True"):
        hub.pull("alice/llama-all", into=other_vocabulary)
    assert hub.pull("alice/llama-all", into=other_vocabulary, force=True).hub_adapters["default"].state == "enabled"
