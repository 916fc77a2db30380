"""Methods without a native implementation are loaded by peft itself, when it is installed.

peft's functional API (inject_adapter_in_model + set_peft_model_state_dict) adapts the model in place,
so the caller keeps its model object and gets the same AdapterHandle interface back.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sdk.formats import PROMPT_TYPES
from sdk.torch._walk import unwrap_root
from sdk.torch.errors import AdapterLoadError, UnsupportedMethodError
from sdk.torch.handle import AdapterHandle, replace_module

CHECKPOINT_PREFIX = "base_model.model."


def load_with_peft(
    model: nn.Module, folder: Path, config: Mapping[str, object], tensors: dict[str, torch.Tensor], **context: Any
) -> AdapterHandle:
    """Inject through peft; UnsupportedMethodError when peft is missing or cannot load in place."""
    method, adapter_name, reason = str(config.get("peft_type")), context["adapter_name"], context["reason"]
    try:
        import peft
        from peft.functional import inject_adapter_in_model, set_peft_model_state_dict
    except ImportError:
        raise UnsupportedMethodError(method, adapter=str(folder), reason=reason) from None
    if method in PROMPT_TYPES:
        hint = "load it with peft.PeftModel.from_pretrained(model, folder), which wraps the model"
        raise UnsupportedMethodError(method, adapter=str(folder), reason="prompt learning", hint=hint)
    root = unwrap_root(model)
    peft_config = peft.PeftConfig.from_pretrained(str(folder))
    # The model is not a PeftModel, so its paths lack the checkpoint's "base_model.model." prefix.
    tensors = {key.removeprefix(CHECKPOINT_PREFIX): tensor for key, tensor in tensors.items()}
    inject_adapter_in_model(peft_config, root, adapter_name=adapter_name, low_cpu_mem_usage=True, state_dict=tensors)
    result = set_peft_model_state_dict(root, tensors, adapter_name=adapter_name, low_cpu_mem_usage=True)
    placements = _tuner_layers(root)
    handle = PeftAdapterHandle(model, adapter_name, placements, method=method.lower(), source=str(folder))
    _check_loaded(handle, result, len(tensors))
    return handle


def _tuner_layers(root: nn.Module) -> dict[str, nn.Module]:
    """The outermost peft layers (tuner layers and modules_to_save-style wrappers) by path."""
    from peft.tuners.tuners_utils import BaseTunerLayer
    from peft.utils.other import AuxiliaryTrainingWrapper

    found: dict[str, nn.Module] = {}
    for path, module in root.named_modules():
        inside = any(path.startswith(f"{outer}.") for outer in found)
        if not inside and isinstance(module, BaseTunerLayer | AuxiliaryTrainingWrapper):
            found[path] = module
    return found


def _check_loaded(handle: PeftAdapterHandle, result: Any, count: int) -> None:
    """Every checkpoint tensor must have been loaded, and every adapter parameter filled."""
    unexpected = list(getattr(result, "unexpected_keys", []))
    missing = [key for key in getattr(result, "missing_keys", []) if f".{handle.adapter_name}" in key]
    if unexpected or missing:
        handle.unload()
        raise AdapterLoadError(
            f"{handle.source}: peft applied {count - len(unexpected)} of the {count} tensors of "
            f"adapter_model.safetensors; not applied: {_listing(unexpected)}; adapter parameters left empty: "
            f"{_listing(missing)}"
        )


def _listing(keys: list[str], limit: int = 20) -> str:
    shown = ", ".join(keys[:limit]) or "none"
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


class PeftAdapterHandle(AdapterHandle):
    """The same interface over layers peft injected."""

    def disable(self) -> None:
        self._require_live()
        for layer in self._placements.values():
            layer.enable_adapters(False)
        self.state = "disabled"

    def enable(self) -> None:
        self._require_live()
        for layer in self._placements.values():
            layer.enable_adapters(True)
        self.state = "enabled"

    def _remove(self, *, merge: bool) -> None:
        # As peft's BaseTuner._unload_and_optionally_merge, restricted to this adapter's layers.
        names = [self.adapter_name]
        for path, layer in self._placements.items():
            if hasattr(layer, "unload_and_optionally_merge_module"):
                base = layer.unload_and_optionally_merge_module(merge=merge, safe_merge=False, adapter_names=names)
            else:
                if merge:
                    layer.merge(adapter_names=names)
                base = layer.get_base_layer()
            replace_module(self.model, path, layer, base)
        configs = unwrap_root(self.model).__dict__.get("peft_config")
        if isinstance(configs, dict):
            configs.pop(self.adapter_name, None)
            if not configs:
                del unwrap_root(self.model).__dict__["peft_config"]
        self._deregister()
