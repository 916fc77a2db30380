"""Put a PEFT adapter into a torch model: natively for LoRA and IA3, through peft for the other methods.

``describe_peft_folder`` and ``load_adapter_folder`` are PEFT's loader in sdk/torch/loaders.py, whose
``pull_folder`` is the safe entry point: it checks the adapter against the model from the safetensors header
alone (sdk/formats/compat.py) before a single weight is read, and refuses what PEFT would load silently (an
adapter for a deeper model, say). Checkpoint keys map to module paths as PEFT maps them: drop
``base_model.model.``, drop the role suffix (``.lora_A.weight``...), the rest is the module's path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from sdk.formats import (
    PEFT_CONFIG_NAME,
    PEFT_WEIGHTS_NAME,
    FormatError,
    describe_peft_adapter,
    parse_peft_config,
    strip_prefix,
)
from sdk.formats.safetensors import read_header_from_path
from sdk.torch import ia3, lora
from sdk.torch._peft_bridge import load_with_peft
from sdk.torch._walk import unwrap_root
from sdk.torch.errors import AdapterLoadError, UnsupportedMethodError
from sdk.torch.handle import AdapterHandle, registry, replace_module
from sdk.torch.layers import AdapterSlot, AdapterWrapper

__all__ = [
    "AdapterHandle",
    "describe_peft_folder",
    "inject_adapter",
    "load_adapter_folder",
    "native_unsupported",
]

NATIVE_METHODS = frozenset({"LORA", "IA3"})
# LoRA options that change loading beyond A/B matrices (and DoRA on linears): left to peft.
_DELEGATED_LORA_OPTIONS = (
    "lora_bias", "trainable_token_indices", "layer_replication", "target_parameters", "use_qalora",
    "megatron_config", "alora_invocation_tokens", "arrow_config", "kasa_config", "monteclora_config",
    "use_bdlora", "velora_config",
)  # fmt: skip
# These initialisations rewrite the base weights when peft loads the adapter (PiSSA's residual, ...).
_BASE_REWRITING_INITS = ("pissa", "corda", "olora", "loftq", "lora_ga", "mica")


def native_unsupported(config: Mapping[str, object], shapes: Mapping[str, tuple[int, ...]]) -> str | None:
    """Why the native loader cannot reproduce peft for this adapter, or None when it can."""
    method = str(config.get("peft_type"))
    if method not in NATIVE_METHODS:
        return "no native implementation"
    if config.get("modules_to_save"):
        return "modules_to_save"
    if method == "IA3":
        return None
    for option in _DELEGATED_LORA_OPTIONS:
        if config.get(option):
            return option
    if (config.get("bias") or "none") != "none":
        return f"bias={config.get('bias')!r}"
    init = config.get("init_lora_weights")
    if isinstance(init, str) and init.lower().startswith(_BASE_REWRITING_INITS):
        return f"init_lora_weights={init!r}"
    if config.get("use_dora") and any(_is_embedding_or_conv(key, shape) for key, shape in shapes.items()):
        return "DoRA on an embedding or convolution"
    return None


def _is_embedding_or_conv(key: str, shape: tuple[int, ...]) -> bool:
    return key.endswith(".lora_embedding_A") or (key.endswith(".lora_A.weight") and len(shape) > 2)


def inject_adapter(
    model: nn.Module,
    config: Mapping[str, object],
    tensors: Mapping[str, torch.Tensor],
    *,
    adapter_name: str = "default",
    source: str = "adapter",
) -> AdapterHandle:
    """Wrap the modules the tensors name and return the handle (also at ``model.hub_adapters[adapter_name]``).

    Native only (LoRA, IA3): UnsupportedMethodError for anything else. Nothing changes in the model unless
    every tensor finds its module with the right shape (AdapterLoadError names the ones that do not).
    """
    _check_name(model, adapter_name)
    method = str(config.get("peft_type"))
    reason = native_unsupported(config, {key: tuple(value.shape) for key, value in tensors.items()})
    if reason is not None:
        raise UnsupportedMethodError(method, adapter=source, reason=reason)
    plan = _plan(unwrap_root(model), config, tensors, source)
    placements = {item.path: _place(model, item, adapter_name) for item in plan}
    handle = AdapterHandle(model, adapter_name, placements, method=method.lower(), source=source)
    registry(model)[adapter_name] = handle
    return handle


def load_adapter_folder(model: nn.Module, folder: str | Path, *, adapter_name: str = "default") -> AdapterHandle:
    """Load a folder saved by PEFT (adapter_config.json + adapter_model.safetensors) into `model`."""
    folder = Path(folder)
    config = _read_config(folder)
    tensors = load_file(_weights_path(folder))
    reason = native_unsupported(config, {key: tuple(value.shape) for key, value in tensors.items()})
    if reason is None:
        return inject_adapter(model, config, tensors, adapter_name=adapter_name, source=str(folder))
    _check_name(model, adapter_name)
    handle = load_with_peft(model, folder, config, tensors, adapter_name=adapter_name, reason=reason)
    registry(model)[adapter_name] = handle
    return handle


def describe_peft_folder(folder: Path) -> dict[str, object]:
    """The facts the hub records, from adapter_config.json and the header of adapter_model.safetensors."""
    config = _read_config(folder)
    weights = _weights_path(folder)
    try:
        return describe_peft_adapter(config, read_header_from_path(weights)).to_dict()
    except FormatError as exc:
        raise type(exc)(f"{weights}: {exc.message}", code=exc.code) from None


@dataclass
class _Planned:
    path: str
    slot: AdapterSlot
    tensor_count: int


def _plan(
    root: nn.Module, config: Mapping[str, object], tensors: Mapping[str, torch.Tensor], source: str
) -> list[_Planned]:
    """Build every slot before touching the model; AdapterLoadError if a tensor would not be applied."""
    groups, unmatched = _group(tensors, lora.ROLES if config.get("peft_type") == "LORA" else ia3.ROLES)
    modules = dict(root.named_modules())
    plan, missing = [], {}
    for path, group in groups.items():
        base = _base_module(modules.get(path), path, source)
        if base is None:
            missing[path] = len(group)
            continue
        try:
            plan.append(_Planned(path, _slot(path, base, group, config), len(group)))
        except AdapterLoadError as exc:
            raise AdapterLoadError(f"{source} ({PEFT_WEIGHTS_NAME}): {exc}") from None
    unapplied = [key for key in unmatched if not _is_unchanged_copy(root, key, tensors[key])]
    applied = sum(item.tensor_count for item in plan) + len(unmatched) - len(unapplied)
    if applied != len(tensors):
        raise AdapterLoadError(_unapplied_message(source, applied, len(tensors), missing, unapplied))
    return plan


def _slot(path: str, base: nn.Module, group: Mapping[str, torch.Tensor], config: Mapping[str, object]) -> AdapterSlot:
    if config.get("peft_type") == "LORA":
        return lora.lora_slot(path, base, group, lora.LoraOptions.from_config(config))
    return ia3.ia3_slot(path, base, group, ia3.is_feedforward(config, path))


def _group(
    tensors: Mapping[str, torch.Tensor], roles: Mapping[str, str]
) -> tuple[dict[str, dict[str, torch.Tensor]], list[str]]:
    """{module path: {role: tensor}} and the keys no role suffix matches."""
    groups: dict[str, dict[str, torch.Tensor]] = {}
    unmatched = []
    for key, tensor in tensors.items():
        name = strip_prefix(key)
        suffix = next((suffix for suffix in roles if name.endswith(suffix)), None)
        if suffix is None or len(name) == len(suffix):
            unmatched.append(key)
            continue
        groups.setdefault(name[: -len(suffix)], {})[roles[suffix]] = tensor
    return groups, unmatched


def _base_module(module: nn.Module | None, path: str, source: str) -> nn.Module | None:
    """The module to adapt at `path`: ours unwrapped; a peft-injected one refused (two systems would fight)."""
    if isinstance(module, AdapterWrapper):
        return module.base_layer
    if module is not None and "base_layer" in module._modules:
        raise AdapterLoadError(f"{source}: module {path!r} already holds a peft adapter; unload it first")
    return module


def _is_unchanged_copy(root: nn.Module, key: str, tensor: torch.Tensor) -> bool:
    """PEFT saves the whole embedding beside embedding LoRA (``embed_tokens.base_layer.weight``); a copy
    equal to the model's own parameter changes nothing, so it counts as applied."""
    name = strip_prefix(key).replace(".base_layer.", ".")
    owner, _, attribute = name.rpartition(".")
    try:
        module = root.get_submodule(owner)
    except AttributeError:
        return False
    if isinstance(module, AdapterWrapper):
        module = module.base_layer
    current = module._parameters.get(attribute)
    return current is not None and current.shape == tensor.shape and torch.equal(current.detach().cpu(), tensor.cpu())


def _unapplied_message(source: str, applied: int, total: int, missing: Mapping[str, int], unapplied: list[str]) -> str:
    lines = [f"module {path!r} is not in the model ({count} tensors)" for path, count in missing.items()]
    lines += [f"tensor {key!r} matches no adapter role and no model parameter" for key in unapplied]
    shown = "\n  ".join(lines[:30]) + (f"\n  ... and {len(lines) - 30} more" if len(lines) > 30 else "")
    return f"{source} ({PEFT_WEIGHTS_NAME}): only {applied} of its {total} tensors would be applied:\n  {shown}"


def _place(model: nn.Module, item: _Planned, adapter_name: str) -> AdapterWrapper:
    module = unwrap_root(model).get_submodule(item.path)
    wrapper = module if isinstance(module, AdapterWrapper) else AdapterWrapper(module)
    if wrapper is not module:
        wrapper.train(module.training)
        replace_module(model, item.path, module, wrapper)
    item.slot.train(module.training)
    wrapper.add(adapter_name, item.slot)
    return wrapper


def _check_name(model: nn.Module, adapter_name: str) -> None:
    if not adapter_name or "." in adapter_name or not adapter_name.isprintable():
        raise ValueError(f"adapter name {adapter_name!r} must be non-empty, printable and without '.'")
    if adapter_name in registry(model):
        raise ValueError(f"the model already holds an adapter named {adapter_name!r}; unload it or pick another name")


def _read_config(folder: Path) -> dict[str, object]:
    path = folder / PEFT_CONFIG_NAME
    try:
        return parse_peft_config(path.read_bytes())
    except FormatError as exc:
        raise type(exc)(f"{path}: {exc.message}", code=exc.code) from None


def _weights_path(folder: Path) -> Path:
    path = folder / PEFT_WEIGHTS_NAME
    if not path.is_file():
        # PEFT's pickle format is never unpickled here: it can run code.
        raise FileNotFoundError(f"{path} not found (adapter_model.bin, the pickle format, is not loaded)")
    return path
