"""Native pulls in this (main) environment, where the `adapters` library is not installed: an OpenDelta LoRA
delta and an `adapters` LoRA / (IA)^3 through the hub into a tiny BERT, against each library's arithmetic
written out in plain torch (OpenDelta's parallel LowRankLinear, adapters' LoRA and IA3 layers); and the
clear refusal for methods only the `adapters` library can load."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from sdk import Hub
from sdk.torch.errors import UnsupportedMethodError
from tests.adapters_lib.folders import adapters_config, adapters_files, adapters_spec, opendelta_config, opendelta_spec
from tests.sdk.formats.models import transformers
from tests.sdk.test_support import write_folder

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("sdk_env")]
TOLERANCE = 1e-5


@pytest.fixture
def backend() -> str:
    return "sqlite-local"  # loading is client-side; the stores are covered by test_hub_formats.py


def tiny_bert(head: bool = True) -> nn.Module:
    torch.manual_seed(0)
    config = transformers.BertConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=100
    )
    model = transformers.BertForSequenceClassification(config) if head else transformers.BertModel(config)
    return model.eval()


def random_tensors(spec: dict[str, tuple[str, list[int]]]) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(5)
    return {name: torch.randn(shape, generator=generator) * 0.3 for name, (_, shape) in spec.items()}


def with_hooks(model: nn.Module, deltas: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]) -> nn.Module:
    """A copy of `model` whose modules' outputs are rewritten by delta(input, output): the reference."""
    reference = copy.deepcopy(model)
    for path, delta in deltas.items():
        reference.get_submodule(path).register_forward_hook(lambda _m, args, out, delta=delta: delta(args[0], out))
    return reference


def outputs(model: nn.Module) -> torch.Tensor:
    ids = torch.randint(0, 100, (2, 9), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        result = model(input_ids=ids)
    return result.logits if hasattr(result, "logits") else result.last_hidden_state


def test_an_opendelta_lora_publishes_from_its_pickle_and_pulls_natively(hub: Hub, tmp_path: Path) -> None:
    saved = random_tensors(opendelta_spec(rank=4))
    folder = write_folder(tmp_path / "delta", {"config.json": json.dumps(opendelta_config()).encode()})
    torch.save(saved, folder / "pytorch_model.bin")  # what save_finetuned writes
    with pytest.warns(UserWarning, match=r"pytorch_model\.bin is a pickle; it was converted to delta_model"):
        version = hub.publish(folder, "alice/delta-lora", base_model="tiny/bert-test")
    assert version["facts"]["converted_from"] == ["pytorch_model.bin"] and version["library"] == "opendelta"
    scaling = 8 / 4  # lora_alpha / lora_r, as LowRankLinear computes it
    paths = sorted({key.removesuffix(".lora.lora_A") for key in saved if key.endswith("lora_A")})

    def delta(path: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        a, b = saved[f"{path}.lora.lora_A"], saved[f"{path}.lora.lora_B"]
        return lambda x, out: out + (x @ a.T @ b.T) * scaling

    reference = with_hooks(tiny_bert(), {path: delta(path) for path in paths})
    pulled = hub.pull("alice/delta-lora", into=tiny_bert())
    assert (outputs(pulled) - outputs(reference)).abs().max() <= TOLERANCE
    assert sorted(pulled.hub_adapters["default"].modules) == paths
    # Saved on BertForSequenceClassification ("bert." keys), pulled into a BertModel: the prefix is dropped.
    bare = hub.pull("alice/delta-lora", into=tiny_bert(head=False))
    assert (outputs(bare) - outputs(reference.bert)).abs().max() <= TOLERANCE


def test_other_opendelta_types_publish_but_do_not_pull(hub: Hub, tmp_path: Path) -> None:
    spec = {"bert.encoder.layer.0.output.adapter.modulelist.down_proj.weight": ("F32", [16, 64])}
    folder = write_folder(tmp_path / "d", {"config.json": json.dumps(opendelta_config(delta_type="adapter")).encode()})
    save_file(random_tensors(spec), folder / "delta_model.safetensors")
    assert hub.publish(folder, "alice/delta-adapter", base_model="tiny/bert-test")["method"] == "adapter"
    with pytest.raises(UnsupportedMethodError, match=r"opendelta adapter \(delta type adapter\)"):
        hub.pull("alice/delta-adapter", into=tiny_bert())


@pytest.mark.parametrize("method", ["lora", "ia3"])
def test_adapters_lora_and_ia3_pull_natively_without_the_library(hub: Hub, tmp_path: Path, method: str) -> None:
    saved = random_tensors(adapters_spec(method, prefix="bert."))
    config = adapters_config(method, model_class="BertForSequenceClassification", config={"alpha": 4})
    folder = write_folder(tmp_path / method, {"adapter_config.json": json.dumps(config).encode()})
    save_file(saved, folder / "adapter.safetensors")
    hub.publish(folder, f"alice/bert-{method}")
    marker = ".loras.ad."
    paths = sorted({key.split(marker)[0] for key in saved})

    def delta(path: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        b = saved[f"{path}{marker}lora_B"]
        if method == "ia3":  # IA3: output * lora_B * alpha (adapters' IA3.forward, scaling = alpha)
            return lambda _x, out: out * b.view(-1) * 4
        a = saved[f"{path}{marker}lora_A"]  # LoRA: + x A^T B^T * alpha / r
        return lambda x, out: out + (x @ a.T @ b.T) * (4 / 8)

    reference = with_hooks(tiny_bert(), {path: delta(path) for path in paths})
    pulled = hub.pull(f"alice/bert-{method}", into=tiny_bert())
    assert (outputs(pulled) - outputs(reference)).abs().max() <= TOLERANCE
    assert pulled.hub_adapters["default"].method == ("ia3" if method == "ia3" else "lora")


def test_other_adapters_methods_need_the_library(hub: Hub, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "a", adapters_files("seq_bn")), "alice/bert-seq-bn")
    with pytest.raises(UnsupportedMethodError, match=r"method seq_bn .* install the `adapters` library"):
        hub.pull("alice/bert-seq-bn", into=tiny_bert(head=False))


def test_the_check_runs_before_the_download(hub: Hub, tmp_path: Path) -> None:
    hub.publish(write_folder(tmp_path / "a", adapters_files("seq_bn")), "alice/bert-seq-bn")
    model = transformers.BertModel(
        transformers.BertConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=256)
    )
    report = hub.check("alice/bert-seq-bn", model)
    assert [problem.module for problem in report.errors] == [
        "encoder.layer.0.output.dense",
        "encoder.layer.1.output.dense",
    ]
