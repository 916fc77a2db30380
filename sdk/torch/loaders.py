"""Pull any adapter folder into a model: one loader per library, in a registry, behind one ``pull_folder``.

Libraries: PEFT (sdk/torch/inject.py), AdapterHub's `adapters` (sdk/torch/adapters_lib.py) and OpenDelta
(sdk/torch/opendelta_lib.py), told apart by sdk/formats/detect.py. Every folder goes the same way: the loader
describes it from its config and safetensors headers alone, the description is checked against the model's
structure (sdk/formats/compat.py) before a weight is read, and only then does the loader load it.

``LOADERS`` is keyed by library name, so another kind of adapter is one more entry (with its detection in
sdk/formats/detect.py); issue 19's ``adapter_hub.kinds`` entry points are meant to add theirs there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from torch import nn

from sdk.formats.compat import check_compatibility
from sdk.formats.detect import ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME, detect_format
from sdk.torch.adapters_lib import describe_adapters_folder, load_adapters_folder
from sdk.torch.errors import refuse_unfit
from sdk.torch.foreign import read_json
from sdk.torch.handle import AdapterHandle
from sdk.torch.inject import describe_peft_folder, load_adapter_folder
from sdk.torch.opendelta_lib import describe_opendelta_folder, load_opendelta_folder
from sdk.torch.structure import model_structure

__all__ = ["LOADERS", "FolderLoader", "Loader", "folder_library", "pull_folder"]


class Loader(Protocol):
    """Reads the folders one adapter library writes."""

    library: str  # the name sdk/formats/detect.py gives the library: "peft", "adapters", "opendelta"

    def describe(self, folder: Path) -> dict[str, object]:
        """The facts the hub records (AdapterFacts.to_dict()), from the config and safetensors headers only."""
        ...

    def load(self, model: nn.Module, folder: Path, *, adapter_name: str, **options: Any) -> AdapterHandle | None:
        """Put the adapter into `model` without checking it; the native handle, or None if a library holds it."""
        ...


@dataclass(frozen=True)
class FolderLoader:
    """A Loader made of a library's two functions (sdk/torch/inject.py, adapters_lib.py, opendelta_lib.py)."""

    library: str
    describe: Callable[[Path], dict[str, object]]
    load: Callable[..., AdapterHandle | None]


BUILT_IN: tuple[Loader, ...] = (
    FolderLoader("peft", describe_peft_folder, load_adapter_folder),
    FolderLoader("adapters", describe_adapters_folder, load_adapters_folder),  # options: via=
    FolderLoader("opendelta", describe_opendelta_folder, load_opendelta_folder),
)
LOADERS: dict[str, Loader] = {loader.library: loader for loader in BUILT_IN}


def pull_folder(
    model: nn.Module,
    folder: str | Path,
    *,
    adapter_name: str = "default",
    force: bool = False,
    base_fingerprint: str | None = None,
    base_model_type: str | None = None,
    **options: Any,
) -> AdapterHandle | None:
    """Check the folder against the model from its header alone, then load it with its library's loader.

    Errors (missing modules, shape mismatches...) always refuse; warnings (another base fingerprint or model
    type, known when the hub's metadata is passed) refuse unless force=True. `options` go to the loader
    (`adapters` folders take via="auto" | "native" | "adapters", see adapters_lib.load_adapters_folder).

    Returns:
        The native handle (also at ``model.hub_adapters[adapter_name]``), or None when the `adapters` library
        itself holds the adapter (then manage it with its API: set_active_adapters, delete_adapter).

    Raises:
        IncompatibleAdapterError: the adapter does not fit (or only warnings, without force). Nothing was loaded.
    """
    folder = Path(folder)
    loader = LOADERS[folder_library(folder)]
    facts = loader.describe(folder)
    # The hub's model type, else the one the folder names (AdapterHub records it in adapter_config.json).
    identity = {"base_fingerprint": base_fingerprint, "base_model_type": base_model_type or facts.get("model_type")}
    report = check_compatibility(facts, model_structure(model), **identity)
    refuse_unfit(report, adapter=str(folder), force=force)
    return loader.load(model, folder, adapter_name=adapter_name, **options)


def folder_library(folder: Path) -> str:
    """The library that wrote the folder: "peft", "adapters" or "opendelta" (PEFT by default)."""
    names = [name for name in (ADAPTER_CONFIG_NAME, OPENDELTA_CONFIG_NAME) if (folder / name).is_file()]
    configs = {name: read_json(folder / name) for name in names}
    detected = detect_format(names, configs)
    return detected.library if detected is not None else "peft"
