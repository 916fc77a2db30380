"""PEFT adapters (``PeftModel.save_pretrained``): config parsing, consistency checks and the facts a hub indexes.

``describe_peft_adapter`` needs only ``adapter_config.json`` and the safetensors *header*: it checks that
config and tensors agree (docs/adapter-formats.md 1.4-1.5) and derives method, rank, targets, layers
and per-module sizes, without torch.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from sdk.formats._common import loads_json_object
from sdk.formats._peft_config import (
    LORA_TYPES,
    MAX_FLOAT,
    PROMPT_TYPES,
    Config,
    PeftSettings,
    get_bool,
    get_number,
    get_str,
    peft_type_of,
    read_settings,
)
from sdk.formats._peft_keys import ModuleInfo, Modules, check_key_lengths, layer_index
from sdk.formats._peft_methods import check_ia3, check_lora, check_other, check_prompt
from sdk.formats.errors import AdapterConfigError
from sdk.formats.safetensors import SafetensorsHeader

PEFT_CONFIG_NAME = "adapter_config.json"
PEFT_WEIGHTS_NAME = "adapter_model.safetensors"
# Real configs are a few kilobytes; a megabyte leaves room for long module lists and patterns.
MAX_CONFIG_BYTES = 1_000_000
CHECKED_TYPES = LORA_TYPES | PROMPT_TYPES | {"IA3"}
# Methods whose `r` is not a rank (OFT: the number of orthogonal blocks).
BLOCK_COUNT_TYPES = frozenset({"OFT", "BOFT"})

__all__ = [
    "MAX_CONFIG_BYTES",
    "PEFT_CONFIG_NAME",
    "PEFT_WEIGHTS_NAME",
    "AdapterFacts",
    "ModuleInfo",
    "describe_peft_adapter",
    "is_peft_config",
    "parse_peft_config",
]


@dataclass(frozen=True)
class AdapterFacts:
    """What a PEFT adapter is, derived from its config and checked against its tensors."""

    library: str
    library_version: str | None
    method: str
    task_type: str | None
    base_model: str | None
    base_revision: str | None
    target_modules: list[str]
    rank: int | None
    alpha: float | None
    use_rslora: bool
    use_dora: bool
    fan_in_fan_out: bool
    trainable_params: int
    layers: list[int]
    modules: dict[str, ModuleInfo]
    extra_tensors: list[str]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready copy (modules become plain dicts)."""
        return dataclasses.asdict(self)


def parse_peft_config(raw: bytes) -> Config:
    """Parse adapter_config.json: a UTF-8 JSON object with a non-empty string peft_type."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise AdapterConfigError(f"{PEFT_CONFIG_NAME} is {len(raw)} bytes; the limit is {MAX_CONFIG_BYTES}")
    config = loads_json_object(raw, AdapterConfigError, PEFT_CONFIG_NAME)
    peft_type_of(config)
    try:
        # The hub stores and serves the config as JSON text; lone surrogates ("\ud800") cannot be encoded.
        json.dumps(config, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        raise AdapterConfigError(f"{PEFT_CONFIG_NAME} holds text that cannot be stored as UTF-8") from None
    return config


def is_peft_config(config: object) -> bool:
    """Whether `config` looks like a PEFT config (a dict with a non-empty string peft_type)."""
    if not isinstance(config, dict):
        return False
    value = config.get("peft_type")
    return isinstance(value, str) and bool(value.strip())


def describe_peft_adapter(config: Config, header: SafetensorsHeader) -> AdapterFacts:
    """Check that config and tensors agree and derive the adapter's facts.

    Raises AdapterConfigError for a malformed config and InconsistentAdapterError, naming the tensor
    or module, when the tensors do not match it.
    """
    if not isinstance(config, dict):
        raise AdapterConfigError(f"{PEFT_CONFIG_NAME} must be a JSON object")
    settings = read_settings(config)
    check_key_lengths(header.tensors)
    modules, extras = _check_tensors(config, settings, header)
    return AdapterFacts(
        library="peft",
        library_version=get_str(config, "peft_version"),
        method=settings.peft_type.lower(),
        task_type=get_str(config, "task_type"),
        base_model=get_str(config, "base_model_name_or_path"),
        base_revision=get_str(config, "revision"),
        target_modules=sorted({path.rpartition(".")[2] for path in modules}),
        rank=_rank(config, settings, modules),
        alpha=_alpha(config, settings),
        use_rslora=get_bool(config, "use_rslora"),
        use_dora=settings.use_dora,
        fan_in_fan_out=get_bool(config, "fan_in_fan_out"),
        trainable_params=sum(info.numel for info in header.tensors.values()),
        layers=_layers(modules, settings),
        modules=modules,
        extra_tensors=extras,
    )


def _check_tensors(config: Config, settings: PeftSettings, header: SafetensorsHeader) -> tuple[Modules, list[str]]:
    """Run the structural check of the adapter's method."""
    if settings.peft_type in LORA_TYPES:
        return check_lora(header.tensors, settings)
    if settings.peft_type == "IA3":
        return check_ia3(header.tensors, settings)
    if settings.peft_type in PROMPT_TYPES:
        return check_prompt(header.tensors, settings, config)
    return check_other(header.tensors, settings)


def _rank(config: Config, settings: PeftSettings, modules: Modules) -> int | None:
    """Largest rank on disk (rank_pattern varies it); for methods we do not check, the config's r."""
    ranks = [info.rank for info in modules.values() if info.rank is not None]
    if ranks or settings.peft_type in CHECKED_TYPES or settings.peft_type in BLOCK_COUNT_TYPES:
        return max(ranks, default=None)
    value = config.get("r")
    return value if type(value) is int and 0 < value < 2**31 else None


def _alpha(config: Config, settings: PeftSettings) -> float | None:
    """lora_alpha (default 8) for LoRA; the `alpha` field of methods such as LoHa and LoKr."""
    if settings.peft_type in LORA_TYPES:
        return get_number(config, "lora_alpha", 8.0)
    value = config.get("alpha")
    # Methods we do not check are taken as they come: an odd `alpha` is left out rather than refused.
    return float(value) if type(value) in (int, float) and abs(value) <= MAX_FLOAT else None


def _layers(modules: Modules, settings: PeftSettings) -> list[int]:
    """Sorted layer indices the adapted modules sit in."""
    indices = {layer_index(path, settings.layer_segments) for path in modules}
    return sorted(index for index in indices if index is not None)
