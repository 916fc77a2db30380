"""Registered bases from the SDK side: describe_base reads a transformers folder (one file or sharded) or a model
object to the same document transformers' own counts confirm; Hub.register_base and `hub base add` send it
without a weight byte; a folder that is no model folder fails in one line."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from sdk import Hub
from sdk.bases import describe_base
from tests.base_models import TINY_LLAMA_PARAMETERS, saved_folders, tiny_llama
from tests.helpers import stored_state

if TYPE_CHECKING:  # imported by pytest_plugins; importing it here first would skip its assertion rewriting
    from tests.sdk.cli_support import Cli

pytest_plugins = ["tests.sdk.test_support", "tests.sdk.cli_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")


@pytest.fixture(scope="module")
def model() -> Any:
    return tiny_llama()


@pytest.fixture(scope="module")
def folders(model: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return saved_folders(model, tmp_path_factory.mktemp("bases"))


def test_folders_and_model_describe_what_transformers_reports(model, folders) -> None:
    from torch import nn

    from sdk.torch.fingerprint import base_fingerprint

    single, sharded = folders
    assert len(list(sharded.glob("*.safetensors"))) >= 2 and not (sharded / "model.safetensors").exists()
    expected = {
        name: [("embedding", m.num_embeddings, m.embedding_dim) if isinstance(m, nn.Embedding) else
               ("linear", m.in_features, m.out_features)][0]
        for name, m in model.named_modules() if isinstance(m, nn.Linear | nn.Embedding)
    }  # fmt: skip
    for document in (describe_base(single), describe_base(sharded), describe_base(model)):
        assert document["total_parameters"] == model.num_parameters() == TINY_LLAMA_PARAMETERS
        assert document["fingerprint"] == base_fingerprint(model)
        assert document["total_bytes"] == 4 * TINY_LLAMA_PARAMETERS and document["dtype"] == "float32"
        assert (document["num_layers"], document["hidden_size"], document["vocab_size"]) == (2, 64, 128)
        modules = document["structure"]["modules"]
        assert {name: tuple(modules[name]) for name in expected} == expected
    assert describe_base(single) == describe_base(sharded) == describe_base(model)


def test_tied_embeddings_count_once_and_fingerprint_alike(tmp_path: Path) -> None:
    import torch
    import transformers

    from sdk.torch.fingerprint import base_fingerprint
    from tests.base_models import TINY_LLAMA_CONFIG

    torch.manual_seed(0)
    tied = transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY_LLAMA_CONFIG, tie_word_embeddings=True))
    tied.save_pretrained(tmp_path)
    for document in (describe_base(tmp_path), describe_base(tied)):
        assert document["total_parameters"] == tied.num_parameters() == TINY_LLAMA_PARAMETERS - 128 * 64
        assert document["fingerprint"] == base_fingerprint(tied)


def test_register_base_sends_no_weights(app, hub: Hub, folders, model) -> None:
    single, _ = folders
    before = stored_state(app)
    answer = hub.register_base(single, id="alice/tiny")
    from_model = hub.register_base(model, id="alice/tiny", revision="from-model")
    assert stored_state(app) == before  # no blob row and no storage key
    assert answer["total_parameters"] == from_model["total_parameters"] == model.num_parameters()
    assert answer["fingerprint"] == from_model["fingerprint"]
    assert answer["files"]["config.json"]["hidden_size"] == from_model["files"]["config.json"]["hidden_size"] == 64
    assert set(answer["files"]) == {"config.json", "generation_config.json"}


def test_hub_base_add(app, cli: Cli, alice, bob, folders, tmp_path: Path) -> None:
    _, sharded = folders
    before = stored_state(app)
    ran = cli("base", "add", str(sharded), "--id", "alice/tiny", "--revision", "r1", token=alice.token)
    assert ran.code == 0, ran.err
    assert ran.out.startswith(f"Registered base alice/tiny@r1: 2 layers, {TINY_LLAMA_PARAMETERS:,} parameters")
    assert stored_state(app) == before
    refused = cli("base", "add", str(sharded), "--id", "alice/tiny2", token=bob.token)
    assert refused.code == 1 and refused.err.startswith("error [Forbidden]") and len(refused.err.splitlines()) == 1
    (tmp_path / "empty").mkdir()
    empty = cli("base", "add", str(tmp_path / "empty"), "--id", "alice/tiny3", token=alice.token)
    assert empty.code == 1 and "config.json" in empty.err and len(empty.err.splitlines()) == 1 and not empty.out


def test_a_peft_model_describes_as_its_base(model) -> None:
    import copy

    from peft import LoraConfig, get_peft_model

    wrapped = get_peft_model(copy.deepcopy(model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    assert wrapped.num_parameters() > model.num_parameters()  # the LoRA matrices are parameters too...
    assert describe_base(wrapped) == describe_base(model)  # ...but not the base's


def test_the_index_names_the_shards(folders, tmp_path: Path) -> None:
    import shutil

    _, sharded = folders
    copy = shutil.copytree(sharded, tmp_path / "copy")
    first = sorted(copy.glob("model-*.safetensors"))[0]
    shutil.copy(first, copy / "stray-copy.safetensors")  # not in the index: not part of the model
    assert describe_base(copy) == describe_base(sharded)
    (copy / "model.safetensors.index.json").write_text('{"weight_map": {"a": "../outside.safetensors"}}')
    with pytest.raises(ValueError, match="outside the folder"):
        describe_base(copy)
