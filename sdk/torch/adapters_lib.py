"""Load an AdapterHub `adapters` folder into a model: natively where the mapping is exact, else through `adapters`.

Native (no `adapters` needed) for LoRA and (IA)^3 on the BERT/RoBERTa family, where the keys name the very
Linear modules and the arithmetic is PEFT's (adapters/methods/lora.py):
- LoRA: ``y = base(x) + x A^T B^T * alpha / r``, so it becomes a PEFT LoRA with ``lora_alpha = alpha``;
- (IA)^3 (composition_mode "scale", r = 1): ``y = base(x) * lora_B * alpha``, a PEFT IA3 vector
  ``ia3_l = lora_B * alpha`` of shape [out, 1] (the output, bias included, is scaled).
Every other method (bottleneck adapters, prompt and prefix tuning, Compacter, ReFT, gated or DoRA/VeRA LoRA,
other model families) is loaded by the `adapters` library when it is installed (it needs transformers 4.x).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from sdk.formats import FormatError, choose_rename, loads_json_object
from sdk.formats.adapters import BERT_LIKE, CONTAINERS, HeadFiles, describe_adapters_adapter
from sdk.formats.detect import ADAPTER_CONFIG_NAME, ADAPTERS_HEAD_CONFIG, ADAPTERS_HEAD_WEIGHTS, ADAPTERS_WEIGHTS
from sdk.formats.errors import AdapterConfigError
from sdk.formats.peft import MAX_CONFIG_BYTES
from sdk.formats.safetensors import read_header_from_path
from sdk.torch.errors import AdapterLoadError, UnsupportedMethodError
from sdk.torch.foreign import model_renaming, scaled
from sdk.torch.handle import AdapterHandle
from sdk.torch.inject import inject_adapter

__all__ = ["describe_adapters_folder", "load_adapters_folder", "native_reason"]

NATIVE_METHODS = frozenset({"lora", "ia3"})
VIA = ("auto", "native", "adapters")
INSTALL_HINT = "install the `adapters` library (pip install adapters; it needs transformers 4.x) to load it"


def describe_adapters_folder(folder: Path) -> dict[str, object]:
    """The facts the hub records, computed from the local folder (config, header, head)."""
    config = _read_config(folder / ADAPTER_CONFIG_NAME)
    weights = folder / ADAPTERS_WEIGHTS
    if not weights.is_file():
        raise FileNotFoundError(f"{weights} not found (the pickle pytorch_adapter.bin is never loaded here)")
    head = None
    if (folder / ADAPTERS_HEAD_CONFIG).is_file():
        head_weights = folder / ADAPTERS_HEAD_WEIGHTS
        head_header = read_header_from_path(head_weights) if head_weights.is_file() else None
        head = HeadFiles(_read_config(folder / ADAPTERS_HEAD_CONFIG), head_header)
    try:
        return describe_adapters_adapter(config, read_header_from_path(weights), head).to_dict()
    except FormatError as exc:
        raise type(exc)(f"{folder}: {exc.message}", code=exc.code) from None


def load_adapters_folder(
    model: nn.Module, folder: str | Path, *, adapter_name: str = "default", via: str = "auto"
) -> AdapterHandle | None:
    """Load without the compatibility check: natively when exact (a handle), else via `adapters` (None).

    via: "auto" (native where exact, else the `adapters` library), "native" (UnsupportedMethodError when
    not exact) or "adapters" (always the library; the adapter is then named `adapter_name` there and made
    the active one).
    """
    if via not in VIA:
        raise ValueError(f"via={via!r}; expected one of {', '.join(VIA)}")
    folder = Path(folder)
    facts = describe_adapters_folder(folder)
    config = _read_config(folder / ADAPTER_CONFIG_NAME)["config"]
    reason = native_reason(facts, config)  # type: ignore[arg-type]
    if via == "native" or (via == "auto" and reason is None):
        if reason is not None:
            raise UnsupportedMethodError(str(facts["method"]), adapter=str(folder), reason=reason, hint=INSTALL_HINT)
        return _load_native(model, folder, facts, config, adapter_name)  # type: ignore[arg-type]
    _load_with_library(model, folder, facts, adapter_name)
    return None


def native_reason(facts: Mapping[str, object], config: Mapping[str, object]) -> str | None:
    """Why the native loader would not reproduce `adapters` exactly, or None when it does."""
    if facts.get("method") not in NATIVE_METHODS:
        return f"method {facts.get('method')} is loaded by the adapters library"
    if facts.get("model_type") not in BERT_LIKE:
        return f"model type {facts.get('model_type')!r} is not of the BERT/RoBERTa family"
    for option in ("use_gating", "use_dora"):
        if config.get(option):
            return f"{option}=true"
    if config.get("vera_d") is not None or config.get("vera_b") is not None:
        return "VeRA"
    if facts.get("head") is not None:
        return "a prediction head"
    return None


def _load_native(
    model: nn.Module, folder: Path, facts: Mapping[str, object], config: Mapping[str, object], adapter_name: str
) -> AdapterHandle:
    saved = load_file(folder / ADAPTERS_WEIGHTS)
    name = str(facts["adapter_name"])
    marker = f".loras.{name}."
    paths = sorted({key.split(marker, 1)[0] for key in saved})
    rename = model_renaming(model, paths)
    alpha = float(facts.get("alpha") or 1)  # type: ignore[arg-type]
    tensors: dict[str, torch.Tensor] = {}
    if facts["method"] == "ia3":
        peft_config: dict[str, object] = {"peft_type": "IA3", "feedforward_modules": []}
        for key, tensor in saved.items():
            tensors[f"{rename(key.split(marker, 1)[0])}.ia3_l"] = scaled(tensor, alpha)
    else:
        peft_config = {"peft_type": "LORA", "r": int(config.get("r") or 8), "lora_alpha": alpha}  # type: ignore[arg-type]
        for key, tensor in saved.items():
            path, _, role = key.partition(marker)
            tensors[f"{rename(path)}.{role}.weight"] = tensor
    return inject_adapter(model, peft_config, tensors, adapter_name=adapter_name, source=str(folder))


def _load_with_library(model: nn.Module, folder: Path, facts: Mapping[str, object], adapter_name: str) -> None:
    try:
        import adapters
    except ImportError:
        raise UnsupportedMethodError(
            str(facts["method"]), adapter=str(folder), reason="an AdapterHub `adapters` adapter", hint=INSTALL_HINT
        ) from None
    if not hasattr(model, "adapters_config"):
        adapters.init(model)  # type: ignore[attr-defined]
    model.load_adapter(str(folder), load_as=adapter_name, set_active=True, use_safetensors=True)  # type: ignore[operator]
    _apply_saved_weights(model, folder, str(facts["adapter_name"]), adapter_name)


def _apply_saved_weights(model: nn.Module, folder: Path, saved_name: str, adapter_name: str) -> None:
    """Load the saved tensors again under the new name, and refuse any that lands nowhere.

    `adapters` 1.3.0 renames the saved adapter to `load_as` in every key but ``.prompt_tunings.<name>.``
    (loading.py: AdapterLoader.rename_func), so a prompt loaded under another name silently keeps its random
    initialisation; PEFT-style strict accounting catches that and any other key the library would skip.
    """
    saved = load_file(folder / ADAPTERS_WEIGHTS)
    renamed = {_renamed_key(key, saved_name, adapter_name): tensor for key, tensor in saved.items()}
    model_keys = set(model.state_dict())
    rename = choose_rename(list(renamed), model_keys)
    tensors = {rename(key): tensor for key, tensor in renamed.items()}
    unapplied = sorted(key for key in tensors if key not in model_keys)
    if unapplied:
        shown = ", ".join(unapplied[:10]) + (f" ... and {len(unapplied) - 10} more" if len(unapplied) > 10 else "")
        raise AdapterLoadError(f"{folder} ({ADAPTERS_WEIGHTS}): {len(unapplied)} tensors match no parameter: {shown}")
    model.load_state_dict(tensors, strict=False)


def _renamed_key(key: str, saved_name: str, adapter_name: str) -> str:
    segments = key.split(".")
    for position in range(len(segments) - 1):
        if segments[position] in CONTAINERS and segments[position + 1] == saved_name:
            segments[position + 1] = adapter_name
            break
    return ".".join(segments)


def _read_config(path: Path) -> dict[str, object]:
    raw = path.read_bytes()
    if len(raw) > MAX_CONFIG_BYTES:
        raise AdapterConfigError(f"{path} is {len(raw)} bytes; the limit is {MAX_CONFIG_BYTES}")
    return loads_json_object(raw, AdapterConfigError, str(path))
