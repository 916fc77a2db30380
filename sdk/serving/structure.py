"""The module structure of a served base model, read from its folder without loading a weight.

A serving engine's base is a folder of ``config.json`` plus safetensors files (sharded or not). Their
headers name every weight and its shape, which is all the compatibility check (sdk/formats/compat.py)
needs: ``X.weight`` of shape [out, in] is a linear module X (GPT-2's Conv1D stores [in, out]), an
embedding table is [num_embeddings, dim], and 1-D tensors belong to norms and biases. The engines load
the same checkpoint names, so these paths are the ones an adapter's keys must match. Pure Python: no
torch, no transformers, and only the headers (a few kB per file) are read.
"""

from __future__ import annotations

import json
from pathlib import Path

from sdk.formats.compat import ModelStructure, ModuleShape
from sdk.formats.safetensors import TensorInfo, read_header_from_path

CONFIG_NAME = "config.json"
INDEX_NAME = "model.safetensors.index.json"
# Module names that hold an embedding table rather than a linear map (both are 2-D [rows, columns]).
_EMBEDDING_NAMES = frozenset({"wte", "wpe", "shared", "word_embeddings", "position_embeddings",
                              "token_type_embeddings", "embed_tokens", "embed_positions", "embed_in"})  # fmt: skip
# Model types whose projections are transformers' Conv1D, which stores its weight as [in, out].
_CONV1D_MODEL_TYPES = frozenset({"gpt2"})
_LAYER_COUNT_KEYS = ("num_hidden_layers", "n_layer", "num_layers")


class BaseStructureError(ValueError):
    """The folder is not a model folder this module can read (no config.json, no safetensors file)."""


def read_config(folder: Path) -> dict[str, object]:
    """The folder's config.json as a dict; BaseStructureError when it is missing or not a JSON object."""
    path = folder / CONFIG_NAME
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BaseStructureError(f"{folder}: no {CONFIG_NAME} (not a transformers model folder)") from None
    except (OSError, ValueError) as error:
        raise BaseStructureError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(config, dict):
        raise BaseStructureError(f"{path}: not a JSON object")
    return config


def folder_structure(folder: str | Path) -> ModelStructure:
    """The base's modules (checkpoint paths, kinds and sizes), model type and layer count.

    Raises:
        BaseStructureError: no config.json, no safetensors file, or a file that is not safetensors.
    """
    folder = Path(folder)
    config = read_config(folder)
    model_type = config.get("model_type") if isinstance(config.get("model_type"), str) else None
    modules = _modules(read_weights(folder), transposed=model_type in _CONV1D_MODEL_TYPES)
    add_tied_head(modules, config)
    return ModelStructure(modules=modules, model_type=model_type, num_layers=num_layers(config))


def read_weights(folder: Path) -> dict[str, TensorInfo]:
    """Every tensor of the checkpoint's safetensors files, by name: the shards the index names when the
    folder has model.safetensors.index.json (a stray file beside them is not the model's), else every file."""
    files = _index_files(folder) or sorted(folder.glob("*.safetensors"))
    if not files:
        raise BaseStructureError(f"{folder}: no *.safetensors file (the base's weights are read from their headers)")
    tensors: dict[str, TensorInfo] = {}
    for path in files:
        try:
            tensors |= read_header_from_path(path).tensors
        except (OSError, ValueError) as error:
            raise BaseStructureError(f"{path}: {error}") from None
    return tensors


def _index_files(folder: Path) -> list[Path]:
    index = folder / INDEX_NAME
    if not index.is_file():
        return []
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        names = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaseStructureError(f"{index}: not a safetensors index ({error})") from None
    if any(not isinstance(name, str) or "/" in name or "\\" in name or name.startswith(".") for name in names):
        raise BaseStructureError(f"{index}: a shard name points outside the folder")
    return [folder / name for name in names]


def _modules(tensors: dict[str, TensorInfo], *, transposed: bool) -> dict[str, ModuleShape]:
    """Module path -> shape: each weight gives its module; a module with only 1-D tensors is "other"."""
    modules: dict[str, ModuleShape] = {}
    for name, info in sorted(tensors.items()):
        path, _, leaf = name.rpartition(".")
        if not path:
            continue
        if leaf == "weight":
            modules[path] = _weight_shape(path, info.shape, transposed=transposed)
        else:
            modules.setdefault(path, ModuleShape("other", None, None))  # a bias, a norm's running stats...
    return modules


def _weight_shape(path: str, shape: tuple[int, ...], *, transposed: bool) -> ModuleShape:
    leaf = path.rpartition(".")[2]
    if len(shape) == 2 and (leaf in _EMBEDDING_NAMES or leaf.startswith("embed")):
        return ModuleShape("embedding", shape[0], shape[1])
    if len(shape) == 2 and transposed and leaf.startswith("c_"):
        return ModuleShape("conv1d", shape[0], shape[1])
    if len(shape) == 2:
        return ModuleShape("linear", shape[1], shape[0])
    if len(shape) == 4:
        return ModuleShape("conv2d", shape[1], shape[0])
    if len(shape) == 3:  # nn.Conv1d / Conv3d-like: channels only
        return ModuleShape("other", shape[1], shape[0])
    return ModuleShape("other", None, None)


def add_tied_head(modules: dict[str, ModuleShape], config: dict[str, object]) -> None:
    """A causal LM with tied embeddings saves no lm_head weight, yet has the module: add it."""
    architectures = config.get("architectures") or []
    causal = any(isinstance(name, str) and name.endswith(("ForCausalLM", "LMHeadModel")) for name in architectures)
    if "lm_head" in modules or not causal or config.get("tie_word_embeddings", True) is False:
        return
    vocab = config.get("vocab_size")
    table = next((s for s in modules.values() if s.kind == "embedding" and s.in_features == vocab), None)
    if table is not None:
        modules["lm_head"] = ModuleShape("linear", table.out_features, table.in_features)


def num_layers(config: dict[str, object]) -> int | None:
    for key in _LAYER_COUNT_KEYS:
        value = config.get(key)
        if type(value) is int:
            return value
    return None
