"""Gather what to publish: the files of an adapter folder, hashed, plus facts about the base model if at hand.

A source is a folder saved by PEFT, a ``PeftModel`` (saved to a temporary folder), or ``(tensors, config)``.
Pickled weights (``adapter_model.bin``) are converted to safetensors with ``torch.load(weights_only=True)``,
which refuses arbitrary objects; nothing else is ever unpickled, and other pickles are left out.
"""

from __future__ import annotations

import json
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdk.cache import sha256_file

CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"
PICKLED_WEIGHTS_NAME = "adapter_model.bin"
# What the hub stores (hub/registry/filetypes.py); anything else would be refused at the first request.
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
        files = [_hashed(relative, path) for relative, path in _adapter_files(folder, Path(tmp) / "converted")]
        model_type, fingerprint = base_facts(base if base is not None else own_base)
        yield Collected(files, model_type, fingerprint)


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


def _adapter_files(folder: Path, scratch: Path) -> list[tuple[str, Path]]:
    if not (folder / CONFIG_NAME).is_file():
        raise FileNotFoundError(f"{folder} holds no {CONFIG_NAME}: it is not a folder saved by PEFT.")
    found = {path.relative_to(folder).as_posix(): path for path in sorted(folder.rglob("*")) if path.is_file()}
    found = {relative: path for relative, path in found.items() if not _hidden(relative)}
    if PICKLED_WEIGHTS_NAME in found and WEIGHTS_NAME not in found:
        found[WEIGHTS_NAME] = convert_pickled_weights(found.pop(PICKLED_WEIGHTS_NAME), scratch)
    skipped = sorted(relative for relative in found if Path(relative).suffix.lower() not in PUBLISHED_SUFFIXES)
    if skipped:
        warnings.warn(f"Not published (the hub stores no such files): {', '.join(skipped)}.", stacklevel=4)
    return [(relative, path) for relative, path in found.items() if relative not in skipped]


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


def convert_pickled_weights(pickled: Path, scratch: Path) -> Path:
    """adapter_model.bin -> adapter_model.safetensors, loading with weights_only=True (no arbitrary code).

    Args:
        pickled: the .bin file written by PEFT's save_pretrained(safe_serialization=False).
        scratch: a folder for the converted file.

    Returns:
        The path of the safetensors file.

    Raises:
        pickle.UnpicklingError: the file holds more than tensors (torch refuses to load it).
    """
    import torch
    from safetensors.torch import save_file

    state = torch.load(pickled, map_location="cpu", weights_only=True)
    scratch.mkdir(parents=True, exist_ok=True)
    target = scratch / WEIGHTS_NAME
    # Clones, since safetensors refuses tensors that share storage.
    save_file({name: tensor.detach().clone().contiguous() for name, tensor in state.items()}, target)
    warnings.warn(
        f"{pickled} is a pickle; it was converted to {WEIGHTS_NAME} (loaded with torch.load(weights_only=True)) "
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
