"""Load an OpenDelta LoRA delta natively (OpenDelta 0.3.2 itself no longer imports beside transformers 4.4x+).

OpenDelta's LowRankLinear runs in parallel with the Linear it modifies: ``y = base(x) + x A^T B^T * lora_alpha /
lora_r`` (opendelta/delta_models/lora.py, utils/data_parallel.py: parallel_caller), which is PEFT's LoRA with
``lora_alpha`` and ``r = lora_r``; so ``<module>.lora.lora_A`` becomes ``<module>.lora_A.weight``. Other delta
types, and deltas saved with unfrozen backbone modules, have no native loader.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from sdk.formats import FormatError
from sdk.formats.detect import OPENDELTA_CONFIG_NAME, OPENDELTA_WEIGHTS
from sdk.formats.errors import AdapterConfigError
from sdk.formats.opendelta import describe_opendelta_adapter, lora_key_module
from sdk.formats.safetensors import read_header_from_path
from sdk.torch.errors import UnsupportedMethodError
from sdk.torch.foreign import model_renaming, read_json
from sdk.torch.handle import AdapterHandle
from sdk.torch.inject import inject_adapter

__all__ = ["describe_opendelta_folder", "load_opendelta_folder"]

HINT = "only LoRA deltas without unfrozen modules load natively (OpenDelta 0.3.2 fails beside transformers 4.4x+)"


def describe_opendelta_folder(folder: Path) -> dict[str, object]:
    """The facts the hub records, from config.json and the header of delta_model.safetensors."""
    config = read_json(folder / OPENDELTA_CONFIG_NAME)
    if not isinstance(config, dict):
        raise AdapterConfigError(f"{folder / OPENDELTA_CONFIG_NAME} is not a JSON object")
    weights = folder / OPENDELTA_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found (OpenDelta's pickle pytorch_model.bin is never loaded here)")
    try:
        return describe_opendelta_adapter(config, read_header_from_path(weights)).to_dict()
    except FormatError as exc:
        raise type(exc)(f"{folder}: {exc.message}", code=exc.code) from None


def load_opendelta_folder(model: nn.Module, folder: str | Path, *, adapter_name: str = "default") -> AdapterHandle:
    """Inject a LoRA delta as PEFT's LoRA (no compatibility check: see loaders.pull_folder)."""
    folder = Path(folder)
    facts = describe_opendelta_folder(folder)
    if facts["method"] != "lora" or facts["extra_tensors"]:
        reason = "unfrozen backbone modules" if facts["method"] == "lora" else f"delta type {facts['method']}"
        raise UnsupportedMethodError(f"opendelta {facts['method']}", adapter=str(folder), reason=reason, hint=HINT)
    saved = load_file(folder / OPENDELTA_WEIGHTS)
    located = {key: lora_key_module(key) for key in saved}
    rename = model_renaming(model, sorted({found[0] for found in located.values() if found is not None}))
    tensors: dict[str, torch.Tensor] = {}
    for key, found in located.items():
        path, role = found  # type: ignore[misc]  # describe_opendelta_adapter refused any other key
        tensors[f"{rename(path)}.lora_{role}.weight"] = saved[key]
    config = {"peft_type": "LORA", "r": facts["rank"], "lora_alpha": facts["alpha"]}
    return inject_adapter(model, config, tensors, adapter_name=adapter_name, source=str(folder))
