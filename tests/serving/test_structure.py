"""The served base's structure read from config.json and safetensors headers (sdk/serving/structure.py) agrees
with the structure of the same model built by transformers (sdk.torch.structure.model_structure)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sdk.formats.compat import ModelStructure
from sdk.serving.structure import BaseStructureError, folder_structure
from tests.sdk.formats.models import tiny_gpt2, tiny_llama, transformers

pytestmark = pytest.mark.slow


def torch_structure(model: Any) -> ModelStructure:
    from sdk.torch.structure import model_structure

    return model_structure(model)


def tiny_bert() -> Any:
    config = transformers.BertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, vocab_size=100
    )
    return transformers.BertModel(config)


def weighted(structure: ModelStructure) -> dict[str, tuple[str, int | None, int | None]]:
    """The modules an adapter can sit on (linear, GPT-2 Conv1D, embedding), with their sizes."""
    adaptable = ("linear", "conv1d", "embedding")
    return {p: (s.kind, s.in_features, s.out_features) for p, s in structure.modules.items() if s.kind in adaptable}


@pytest.mark.parametrize(
    "build",
    [
        pytest.param(lambda: tiny_llama(), id="llama"),
        pytest.param(lambda: tiny_llama(tie_word_embeddings=True), id="llama-tied"),
        pytest.param(tiny_gpt2, id="gpt2-conv1d-tied"),
        pytest.param(tiny_bert, id="bert-headless"),
    ],
)
def test_headers_give_the_modules_transformers_builds(build: Any, tmp_path: Path) -> None:
    model = build().eval()
    model.save_pretrained(tmp_path / "base")

    from_headers = folder_structure(tmp_path / "base")

    assert weighted(from_headers) == weighted(torch_structure(model))
    assert from_headers.num_layers == 2 and from_headers.model_type == model.config.model_type
    # Norms and biases are listed too, so that saved copies of them are found by the check.
    assert set(torch_structure(model).modules) - set(from_headers.modules) == set()


def test_a_folder_without_config_or_weights_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(BaseStructureError, match=r"no config\.json"):
        folder_structure(tmp_path)
    (tmp_path / "config.json").write_text('{"model_type": "llama"}')
    with pytest.raises(BaseStructureError, match=r"no \*.safetensors file"):
        folder_structure(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"\x80\x04not safetensors")
    with pytest.raises(BaseStructureError, match=r"model\.safetensors"):
        folder_structure(tmp_path)
