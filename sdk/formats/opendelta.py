"""OpenDelta delta checkpoints (``delta_model.save_finetuned``): config.json + the weights, checked; the facts.

OpenDelta (thunlp/OpenDelta 0.3.2, docs/adapter-formats.md 3) writes config.json (the delta config, only the
fields that differ from the defaults, plus ``delta_type``, ``backbone_class``, ``backbone_checkpoint_name``,
``backbone_hash``) and pytorch_model.bin, a pickle of the backbone's *trainable* parameters: the delta
modules under the backbone's own module paths, plus any ``unfrozen_modules``. LoRA inserts a parallel
``LowRankLinear`` named ``lora`` into each modified Linear: keys ``<module>.lora.lora_A`` [r, in] and
``<module>.lora.lora_B`` [out, r], output ``base(x) + x A^T B^T * lora_alpha / lora_r``.
The hub stores the pickle's safetensors conversion as delta_model.safetensors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sdk.formats._common import show
from sdk.formats._peft_config import LAYER_SEGMENTS
from sdk.formats._peft_keys import ModuleInfo, Modules, check_key_lengths, layer_index
from sdk.formats.detect import is_opendelta_config
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.peft import AdapterFacts
from sdk.formats.safetensors import SafetensorsHeader, TensorInfo

__all__ = ["LORA_DEFAULTS", "OpenDeltaFacts", "describe_opendelta_adapter", "lora_key_module"]

# LoraConfig's defaults (opendelta/delta_models/lora.py); a saved config omits fields left at them.
LORA_DEFAULTS = {"lora_r": 8, "lora_alpha": 16}
# OpenDelta's names (lora, low_rank_adapter, soft_prompt...); the hub's method column holds 32 characters.
_DELTA_TYPE_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
LORA_SUFFIXES = {".lora.lora_A": "A", ".lora.lora_B": "B"}
# The delta modules each type inserts, by the parameter names they own (for sorting delta from unfrozen).
_DELTA_MARKERS = (".lora.", ".adapter.", ".low_rank_adapter.", ".compacter.", ".prefix.", ".soft_prompt.",
                  ".parallel_adapter.", ".bitfit.", "soft_prompt_layer.")  # fmt: skip


@dataclass(frozen=True)
class OpenDeltaFacts(AdapterFacts):
    """AdapterFacts plus what OpenDelta records about the delta and its backbone."""

    delta_type: str | None = None
    backbone_class: str | None = None
    backbone_checkpoint_name: str | None = None
    backbone_hash: str | None = None
    modified_modules: list[str] = field(default_factory=list)
    unfrozen_modules: list[str] = field(default_factory=list)


def describe_opendelta_adapter(config: Mapping[str, object], header: SafetensorsHeader) -> OpenDeltaFacts:
    """Check config.json against the converted weights and derive the facts.

    LoRA is checked module by module (shapes, one rank); other delta types are recorded as they come.
    Tensors outside any delta module are the unfrozen modules' weights: listed as extra tensors.
    """
    if not isinstance(config, Mapping) or not is_opendelta_config(config):
        raise AdapterConfigError("config.json is not an OpenDelta delta config (no delta_type)")
    delta_type = str(config["delta_type"]).strip().lower()
    if not _DELTA_TYPE_RE.fullmatch(delta_type):
        raise AdapterConfigError(f"config.json: delta_type {show(delta_type)} is not a delta type name")
    check_key_lengths(header.tensors)
    modules, extras = _lora_modules(header.tensors, config) if delta_type == "lora" else ({}, _extras(header))
    rank = _int(config, "lora_r", LORA_DEFAULTS["lora_r"]) if delta_type == "lora" else None
    alpha = float(_int(config, "lora_alpha", LORA_DEFAULTS["lora_alpha"])) if delta_type == "lora" else None
    paths = list(modules) or [name.rpartition(".")[0] for name in header.tensors]
    return OpenDeltaFacts(
        library="opendelta",
        library_version=_text(config.get("opendelta_version")),
        method=delta_type,
        task_type=None,
        base_model=_text(config.get("backbone_checkpoint_name")),
        base_revision=None,
        target_modules=sorted({path.rpartition(".")[2] for path in modules}),
        rank=rank,
        alpha=alpha,
        use_rslora=False,
        use_dora=False,
        fan_in_fan_out=False,
        trainable_params=sum(info.numel for info in header.tensors.values()),
        layers=sorted({i for path in paths if (i := layer_index(path, LAYER_SEGMENTS)) is not None}),
        modules=modules,
        extra_tensors=extras,
        delta_type=delta_type,
        backbone_class=_text(config.get("backbone_class")),
        backbone_checkpoint_name=_text(config.get("backbone_checkpoint_name")),
        backbone_hash=_text(config.get("backbone_hash")),
        modified_modules=_names(config.get("modified_modules")),
        unfrozen_modules=_names(config.get("unfrozen_modules")),
    )


def lora_key_module(key: str) -> tuple[str, str] | None:
    """(module path, "A" | "B") for a LoRA delta key, else None."""
    for suffix, role in LORA_SUFFIXES.items():
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)], role
    return None


def _lora_modules(tensors: Mapping[str, TensorInfo], config: Mapping[str, object]) -> tuple[Modules, list[str]]:
    groups: dict[str, dict[str, TensorInfo]] = {}
    extras = []
    for key, info in tensors.items():
        found = lora_key_module(key)
        if found is None:
            extras.append(_refuse_stray_delta(key))
            continue
        groups.setdefault(found[0], {})[found[1]] = info
    if not groups:
        raise InconsistentAdapterError("a LoRA delta without any <module>.lora.lora_A / lora_B tensor")
    rank = _int(config, "lora_r", LORA_DEFAULTS["lora_r"])
    return {path: _lora_module(path, group, rank) for path, group in sorted(groups.items())}, sorted(extras)


def _lora_module(path: str, group: Mapping[str, TensorInfo], rank: int) -> ModuleInfo:
    a, b = group.get("A"), group.get("B")
    if a is None or b is None:
        missing = "lora_A" if a is None else "lora_B"
        raise InconsistentAdapterError(f"module {show(path)}: {missing} is missing")
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[0] != rank or b.shape[1] != rank:
        raise InconsistentAdapterError(
            f"module {show(path)}: lora_A {list(a.shape)} and lora_B {list(b.shape)} do not fit "
            f"[r, in] and [out, r] with lora_r={rank}"
        )
    return ModuleInfo("linear", a.shape[1], b.shape[0], rank)


def _refuse_stray_delta(key: str) -> str:
    """Other tensors are unfrozen modules' weights, unless they sit in a delta module LoRA does not have."""
    if any(marker in f".{key}" for marker in _DELTA_MARKERS):
        raise InconsistentAdapterError(f"tensor {show(key)} is a delta parameter that a LoRA delta does not have")
    return key


def _extras(header: SafetensorsHeader) -> list[str]:
    return sorted(key for key in header.tensors if not any(marker in f".{key}" for marker in _DELTA_MARKERS))


def _int(config: Mapping[str, object], key: str, default: int) -> int:
    value = config.get(key, default)
    if type(value) is not int or not 0 < value < 2**31:
        raise AdapterConfigError(f"config.json: {key} must be a positive integer, got {show(value)}")
    return value


def _names(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)][:256] if isinstance(value, list) else []


def _text(value: object) -> str | None:
    return value[:200] if isinstance(value, str) and value else None
