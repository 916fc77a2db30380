"""Which library wrote an adapter folder: PEFT, AdapterHub's `adapters`, or OpenDelta.

Decided from the config's keys and the file names alone (docs/adapter-formats.md sections 1-3), so both the
hub (on the declared file list plus the config text) and the SDK (on a local folder) agree:
- PEFT: adapter_config.json with a string ``peft_type``;
- `adapters`: adapter_config.json whose ``config`` is an object (the adapter configuration), beside
  top-level ``name``/``model_type``/``hidden_size``/``version`` ("adapters.1.3.0");
- OpenDelta: config.json with a string ``delta_type`` (and no adapter_config.json).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

ADAPTER_CONFIG_NAME = "adapter_config.json"
OPENDELTA_CONFIG_NAME = "config.json"

# adapters/utils.py (1.3.0): the safetensors and pickle names of each saved part.
ADAPTERS_WEIGHTS = "adapter.safetensors"
ADAPTERS_PICKLED_WEIGHTS = "pytorch_adapter.bin"
ADAPTERS_HEAD_CONFIG = "head_config.json"
ADAPTERS_HEAD_WEIGHTS = "model_head.safetensors"
ADAPTERS_PICKLED_HEAD_WEIGHTS = "pytorch_model_head.bin"
ADAPTERS_FUSION_WEIGHTS = "model_adapter_fusion.safetensors"
ADAPTERS_PICKLED_FUSION_WEIGHTS = "pytorch_model_adapter_fusion.bin"
# OpenDelta saves only a pickle; the hub stores its safetensors conversion under this name.
OPENDELTA_PICKLED_WEIGHTS = "pytorch_model.bin"
OPENDELTA_WEIGHTS = "delta_model.safetensors"
PEFT_WEIGHTS = "adapter_model.safetensors"
PEFT_PICKLED_WEIGHTS = "adapter_model.bin"

# pickle name -> the safetensors name it is published under, per library.
PICKLE_CONVERSIONS: dict[str, dict[str, str]] = {
    "peft": {PEFT_PICKLED_WEIGHTS: PEFT_WEIGHTS},
    "adapters": {
        ADAPTERS_PICKLED_WEIGHTS: ADAPTERS_WEIGHTS,
        ADAPTERS_PICKLED_HEAD_WEIGHTS: ADAPTERS_HEAD_WEIGHTS,
        ADAPTERS_PICKLED_FUSION_WEIGHTS: ADAPTERS_FUSION_WEIGHTS,
    },
    "opendelta": {OPENDELTA_PICKLED_WEIGHTS: OPENDELTA_WEIGHTS},
}
WEIGHTS_NAMES = {"peft": PEFT_WEIGHTS, "adapters": ADAPTERS_WEIGHTS, "opendelta": OPENDELTA_WEIGHTS}
CONFIG_NAMES = {"peft": ADAPTER_CONFIG_NAME, "adapters": ADAPTER_CONFIG_NAME, "opendelta": OPENDELTA_CONFIG_NAME}
LIBRARIES = ("peft", "adapters", "opendelta")


@dataclass(frozen=True)
class DetectedFormat:
    """The library that wrote a folder, the config file that says so, and where its weights are."""

    library: str
    config_name: str
    weights_name: str


def detect_format(paths: Collection[str], configs: Mapping[str, object]) -> DetectedFormat | None:
    """The format of a folder from its file paths and its parsed config files (name -> JSON value).

    `configs` needs only the candidates present: adapter_config.json and/or config.json. None when no
    library's signature matches (the caller names what is missing).
    """
    adapter_config = configs.get(ADAPTER_CONFIG_NAME) if ADAPTER_CONFIG_NAME in paths else None
    if isinstance(adapter_config, Mapping):
        library = _adapter_config_library(adapter_config)
        if library is not None:
            return _format(library)
        return None
    delta_config = configs.get(OPENDELTA_CONFIG_NAME) if OPENDELTA_CONFIG_NAME in paths else None
    if isinstance(delta_config, Mapping) and is_opendelta_config(delta_config):
        return _format("opendelta")
    return None


def is_adapters_config(config: Mapping[str, object]) -> bool:
    """adapter_config.json written by `adapters` (or adapter-transformers): the adapter config nested under
    ``config``, the base model described beside it."""
    if "peft_type" in config or not isinstance(config.get("config"), Mapping):
        return False
    version = config.get("version")
    described = any(key in config for key in ("model_type", "hidden_size", "model_class", "name"))
    return described or (isinstance(version, str) and version.startswith("adapters."))


def is_opendelta_config(config: Mapping[str, object]) -> bool:
    """OpenDelta's delta config: a non-empty string delta_type (a transformers config.json has none)."""
    value = config.get("delta_type")
    return isinstance(value, str) and bool(value.strip())


def _adapter_config_library(config: Mapping[str, object]) -> str | None:
    value = config.get("peft_type")
    if isinstance(value, str) and value.strip():
        return "peft"
    return "adapters" if is_adapters_config(config) else None


def _format(library: str) -> DetectedFormat:
    return DetectedFormat(library, CONFIG_NAMES[library], WEIGHTS_NAMES[library])
