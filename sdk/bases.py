"""A base model described for registration: its structure and sizes, never its weights.

From a folder, only config.json and the safetensors headers are read (shards through
model.safetensors.index.json), so describing a 70B checkpoint reads a few MB. From a model object, the
shapes of its parameters are read (a meta-device model works). Both give the same document for the same
checkpoint: the module map of sdk/formats/compat.py, parameter and byte totals, dtype and the
structural fingerprint adapters record as base_fingerprint.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from sdk.formats.fingerprint import shapes_fingerprint
from sdk.formats.safetensors import TensorInfo
from sdk.serving.structure import BaseStructureError, folder_structure, read_config, read_weights

# Small JSON files sent along with config.json; weights and tokenizer vocabularies are never sent.
SIDE_FILES = ("generation_config.json", "tokenizer_config.json")
MAX_SIDE_FILE_BYTES = 256 * 1024
# safetensors dtype names -> torch's, so a folder and a loaded model report the same dtype.
_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16", "I64": "int64",
           "I32": "int32", "I16": "int16", "I8": "int8", "U8": "uint8", "BOOL": "bool"}  # fmt: skip
_HIDDEN_KEYS = ("hidden_size", "n_embd", "d_model")


def describe_base(source: str | Path | Any) -> dict[str, Any]:
    """The registration document of a model folder or a torch model.

    Raises:
        BaseStructureError: a folder without config.json or readable safetensors files.
    """
    if isinstance(source, str | Path):
        return describe_folder(Path(source))
    return describe_model(source)


def describe_folder(folder: Path) -> dict[str, Any]:
    """From config.json and the safetensors headers only."""
    config = read_config(folder)
    tensors = read_weights(folder)
    structure = folder_structure(folder)
    pairs = [(name, info.shape) for name, info in tensors.items()] + _tied_pairs(structure.modules, tensors)
    return _document(
        config,
        structure.to_dict() | {"fingerprint": shapes_fingerprint(pairs)},
        total_parameters=sum(info.numel for info in tensors.values()),
        total_bytes=sum(info.end - info.start for info in tensors.values()),
        dtype=_header_dtype(tensors.values()),
    )


def describe_model(model: Any) -> dict[str, Any]:
    """From a torch model's base parameters (shapes only; adapter parameters of a PeftModel left out); tied
    weights count once, as transformers' num_parameters() does."""
    from sdk.torch.fingerprint import parameter_dtype
    from sdk.torch.structure import model_structure

    parameters = _unique_base_parameters(model)
    return _document(
        model_files(model)["config.json"],
        model_structure(model).to_dict(),
        total_parameters=sum(p.numel() for p in parameters),
        total_bytes=sum(p.numel() * p.element_size() for p in parameters),
        dtype=parameter_dtype(model),
    )


def _unique_base_parameters(model: Any) -> list[Any]:
    from sdk.torch._walk import walk_base

    unique = {id(p): p for _, module in walk_base(model) for p in module._parameters.values() if p is not None}
    return list(unique.values())


def model_files(model: Any) -> dict[str, Any]:
    """A model object's config.json (what save_pretrained would write), parsed; {} without a config."""
    from sdk.torch._walk import unwrap_root

    config = getattr(unwrap_root(model), "config", None)
    return {"config.json": config.to_dict() if hasattr(config, "to_dict") else {}}


def side_files(folder: Path) -> dict[str, Any]:
    """config.json and the small JSON files beside it, parsed; a missing or oversized one is left out."""
    files: dict[str, Any] = {"config.json": read_config(folder)}
    for name in SIDE_FILES:
        path = folder / name
        if path.is_file() and path.stat().st_size <= MAX_SIDE_FILE_BYTES:
            try:
                files[name] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as error:
                raise BaseStructureError(f"{path}: not JSON ({error})") from None
    return files


def _document(config: dict[str, Any], structure: dict[str, Any], **sizes: Any) -> dict[str, Any]:
    return {
        "model_type": structure.get("model_type"),
        "num_layers": structure.get("num_layers"),
        "hidden_size": _first_int(config, _HIDDEN_KEYS),
        "vocab_size": _first_int(config, ("vocab_size",)),
        "fingerprint": structure.get("fingerprint"),
        **sizes,
        "structure": structure,
    }


def _tied_pairs(modules: dict[str, Any], tensors: dict[str, TensorInfo]) -> list[tuple[str, tuple[int, ...]]]:
    # A tied lm_head is saved once (as the embedding) but is a module of its own in the loaded model, whose
    # fingerprint lists lm_head.weight: add it so both fingerprints agree.
    head = modules.get("lm_head")
    if head is None or "lm_head.weight" in tensors:
        return []
    return [("lm_head.weight", (head.out_features, head.in_features))]


def _header_dtype(tensors: Any) -> str:
    counts: Counter[str] = Counter()
    for info in tensors:
        counts[_DTYPES.get(info.dtype, info.dtype.lower())] += info.numel
    return counts.most_common(1)[0][0] if counts else "unknown"


def _first_int(config: dict[str, Any], keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = config.get(key)
        if type(value) is int:
            return value
    return None
