"""Pull any adapter folder into a model: PEFT (sdk/torch/inject.py), AdapterHub's `adapters`
(sdk/torch/adapters_lib.py) or OpenDelta (sdk/torch/opendelta_lib.py), told apart by sdk/formats/detect.py.

Every path checks the adapter against the model from the folder's config and safetensors header before a
weight is read, as ``inject.pull_into`` does for PEFT.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import nn

from sdk.formats._align import choose_rename
from sdk.formats.compat import check_compatibility
from sdk.formats.detect import ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME, detect_format
from sdk.torch._walk import unwrap_root
from sdk.torch.errors import IncompatibleAdapterError
from sdk.torch.handle import AdapterHandle
from sdk.torch.structure import model_structure

__all__ = ["check_fit", "folder_library", "model_renaming", "pull_folder", "read_json"]


def pull_folder(
    model: nn.Module,
    folder: str | Path,
    *,
    adapter_name: str = "default",
    force: bool = False,
    base_fingerprint: str | None = None,
    base_model_type: str | None = None,
) -> AdapterHandle | None:
    """Check, then load the folder with the loader of the library that wrote it.

    Returns the native handle (also at ``model.hub_adapters[adapter_name]``), or None when the `adapters`
    library itself holds the adapter (then manage it with its API: set_active_adapters, delete_adapter).
    """
    folder = Path(folder)
    identity = {"base_fingerprint": base_fingerprint, "base_model_type": base_model_type}
    library = folder_library(folder)
    if library == "adapters":
        from sdk.torch.adapters_lib import pull_adapters_into

        return pull_adapters_into(model, folder, adapter_name=adapter_name, force=force, **identity)
    if library == "opendelta":
        from sdk.torch.opendelta_lib import pull_opendelta_into

        return pull_opendelta_into(model, folder, adapter_name=adapter_name, force=force, **identity)
    from sdk.torch.inject import pull_into

    return pull_into(model, folder, adapter_name=adapter_name, force=force, **identity)


def folder_library(folder: Path) -> str:
    """The library that wrote the folder: "peft", "adapters" or "opendelta" (PEFT by default)."""
    names = [name for name in (ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME) if (folder / name).is_file()]
    configs = {name: read_json(folder / name) for name in names}
    detected = detect_format(names, configs)
    return detected.library if detected is not None else "peft"


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def check_fit(
    model: nn.Module,
    facts: Mapping[str, object],
    source: str,
    *,
    force: bool,
    base_fingerprint: str | None,
    base_model_type: str | None,
) -> None:
    """IncompatibleAdapterError on any error, and on warnings unless force (as inject.pull_into)."""
    report = check_compatibility(
        facts, model_structure(model), base_fingerprint=base_fingerprint, base_model_type=base_model_type
    )
    if report.errors or (report.warnings and not force):
        raise IncompatibleAdapterError(report, adapter=source, refused_warnings=not report.errors)


def model_renaming(model: nn.Module, paths: list[str]) -> Callable[[str], str]:
    """How the saved module paths map onto this model's (a head model's "bert." prefix added or dropped)."""
    return choose_rename(paths, [name for name, _ in unwrap_root(model).named_modules()])


def scaled(tensor: torch.Tensor, factor: float) -> torch.Tensor:
    """`tensor` * factor, kept in its dtype (a factor of 1 returns it unchanged)."""
    return tensor if factor == 1 else (tensor * factor).to(tensor.dtype)
