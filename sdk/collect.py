"""Gather what to publish: the files of an adapter folder, hashed, plus facts about the base model if at hand.

A source is a folder saved by PEFT, by AdapterHub's `adapters` (``save_adapter``) or by OpenDelta
(``save_finetuned``), a ``PeftModel`` (saved to a temporary folder), or ``(tensors, config)``.
The known pickled weights (PEFT's ``adapter_model.bin``; `adapters`' ``pytorch_adapter.bin``,
``pytorch_model_head.bin``, ``pytorch_model_adapter_fusion.bin``; OpenDelta's ``pytorch_model.bin``) are
converted to safetensors with ``torch.load(weights_only=True)``, which refuses arbitrary objects, and the
version records which (``converted_from``); nothing else is ever unpickled, and other pickles are left out.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdk.cache import sha256_file
from sdk.formats.detect import ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME, PICKLE_CONVERSIONS, detect_format
from sdk.formats.names import EVAL_RESULTS_FOLDER
from sdk.signing.bundle import SIGNATURE_NAME  # the bundle travels with the files it signs

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
PICKLED_WEIGHTS_NAME = "adapter_model.bin"
# What the hub stores (hub/registry/publish/filetypes.py); anything else would be refused at the first request.
PUBLISHED_SUFFIXES = frozenset({".safetensors", ".json", ".md", ".txt", ".yaml", ".yml", ".jinja", ".model"})


@dataclass(frozen=True)
class LocalFile:
    path: str  # relative, with "/" separators, as the hub will list it
    source: Path
    sha256: str
    size: int

    def declared(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size}


@dataclass(frozen=True)
class Collected:
    files: list[LocalFile]
    base_model_type: str | None
    base_fingerprint: str | None
    converted_from: list[str] = field(default_factory=list)  # the pickles converted to safetensors


@contextmanager
def collect(source: object, base: object = None) -> Iterator[Collected]:
    """Hash the files of `source`; temporary files live until the context exits.

    Args:
        source: a folder (str or Path), a PeftModel, or a (tensors, config) pair.
        base: the base model object, for its model type and structural fingerprint (a PeftModel's own
            base is used when this is None).

    Returns:
        A context manager yielding the files and the base facts.

    Raises:
        TypeError: `source` is none of the accepted kinds.
        FileNotFoundError: the folder does not exist or holds no adapter_config.json.
    """
    with tempfile.TemporaryDirectory(prefix="adapter-hub-publish-") as tmp:
        folder, own_base = _materialize(source, Path(tmp) / "saved")
        found, converted = _adapter_files(folder, Path(tmp) / "converted")
        files = [_hashed(relative, path) for relative, path in found]
        model_type, fingerprint = base_facts(base if base is not None else own_base)
        yield Collected(files, model_type, fingerprint, converted)


def _materialize(source: object, scratch: Path) -> tuple[Path, object]:
    if isinstance(source, str | Path):
        return Path(source), None
    if _is_peft_model(source):
        source.save_pretrained(str(scratch))  # type: ignore[attr-defined]
        return scratch, source.get_base_model()  # type: ignore[attr-defined]
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], Mapping):
        _write_tensors_and_config(source[0], source[1], scratch)
        return scratch, None
    raise TypeError(
        f"Cannot publish a {type(source).__name__}: give a folder saved by PEFT, a PeftModel, "
        "or a (dict of tensors, adapter config) pair."
    )


def _is_peft_model(source: object) -> bool:
    # Nothing can be a PeftModel unless peft was imported, so peft is never imported here for nothing.
    if "peft" not in sys.modules:
        return False
    from peft import PeftModel

    return isinstance(source, PeftModel)


def _write_tensors_and_config(tensors: Mapping[str, Any], config: object, folder: Path) -> None:
    from safetensors.torch import save_file

    as_dict = config.to_dict() if hasattr(config, "to_dict") else config  # a peft LoraConfig, or a plain dict
    if not isinstance(as_dict, dict):
        raise TypeError(f"The adapter config must be a dict or a PEFT config, not {type(config).__name__}.")
    folder.mkdir(parents=True)
    (folder / CONFIG_NAME).write_text(json.dumps(as_dict, indent=2, sort_keys=True, default=_jsonable) + "\n")
    save_file({name: tensor.detach().contiguous().cpu() for name, tensor in tensors.items()}, folder / WEIGHTS_NAME)


def _jsonable(value: object) -> object:
    # PEFT configs hold sets (target_modules) and enums (peft_type, task_type).
    if isinstance(value, set | frozenset):
        return sorted(value)
    return getattr(value, "value", str(value))


def _adapter_files(folder: Path, scratch: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """The files to publish (pickled weights replaced by their conversion) and the names of those pickles."""
    found = {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*")) if path.is_file()}
    found = {relative: path for relative, path in found.items() if not _hidden(relative)}
    converted = []
    for pickled, target in PICKLE_CONVERSIONS[_library(folder, found)].items():
        if pickled in found and target not in found:
            found[target] = convert_pickled_weights(found.pop(pickled), scratch, target)
            converted.append(pickled)
    skipped = sorted(relative for relative in found if not _published(relative))
    if skipped:
        warnings.warn(f"Not published (the hub stores no such files): {', '.join(skipped)}.", stacklevel=4)
    return [(relative, path) for relative, path in found.items() if relative not in skipped], converted


def _library(folder: Path, found: Mapping[str, Path]) -> str:
    """Which library saved the folder (sdk/formats/detect.py); PEFT when its config says nothing clearer."""
    configs = {name: _read_json(found[name]) for name in (ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME) if name in found}
    detected = detect_format(list(found), configs)
    if detected is not None:
        return detected.library
    if ADAPTER_CONFIG_NAME not in found:
        raise FileNotFoundError(
            f"{folder} holds no {CONFIG_NAME} (PEFT, `adapters`) nor an OpenDelta {OPENDELTA_CONFIG_NAME}: "
            "it is not a saved adapter folder."
        )
    return "peft"  # the hub names what is wrong with the config


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def _published(relative: str) -> bool:
    return Path(relative).suffix.lower() in PUBLISHED_SUFFIXES or relative == SIGNATURE_NAME


def _hidden(relative: str) -> bool:
    """Dot-files and dot-folders stay home, except the evaluation results the hub reads (.eval_results/)."""
    parts = relative.split("/")
    if parts[0] == EVAL_RESULTS_FOLDER and len(parts) > 1:
        parts = parts[1:]
    return any(part.startswith(".") for part in parts)


def convert_pickled_weights(pickled: Path, scratch: Path, target_name: str = WEIGHTS_NAME) -> Path:
    """adapter_model.bin -> adapter_model.safetensors (or another pair), loading with weights_only=True.

    Args:
        pickled: the .bin file written by PEFT's save_pretrained(safe_serialization=False), `adapters`'
            save_adapter or OpenDelta's save_finetuned.
        scratch: a folder for the converted file.
        target_name: the safetensors file name it is published under.

    Returns:
        The path of the safetensors file.

    Raises:
        pickle.UnpicklingError: the file holds more than tensors (torch refuses to load it).
    """
    import torch
    from safetensors.torch import save_file

    state = torch.load(pickled, map_location="cpu", weights_only=True)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / target_name
    # Clones, since safetensors refuses tensors that share storage.
    save_file({name: tensor.detach().clone().contiguous() for name, tensor in state.items()}, target)
    warnings.warn(
        f"{pickled} is a pickle; it was converted to {target_name} (loaded with torch.load(weights_only=True)) "
        "and that is what is published.",
        stacklevel=5,
    )
    return target


def base_facts(base: object) -> tuple[str | None, str | None]:
    """(model type, structural fingerprint) of a base model object, or (None, None) without one."""
    if base is None:
        return None, None
    from sdk.torch.fingerprint import base_fingerprint

    config = getattr(base, "config", None)
    model_type = getattr(config, "model_type", None) or None
    return model_type, base_fingerprint(base)


def _hashed(relative: str, path: Path) -> LocalFile:
    return LocalFile(path=relative, source=path, sha256=sha256_file(path), size=path.stat().st_size)
