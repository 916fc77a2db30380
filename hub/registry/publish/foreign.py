"""Validation of adapters written by other libraries than PEFT: AdapterHub's `adapters` and OpenDelta.

Called by validation.inspect_version once sdk/formats/detect.py has named the library from the config text
and the file names. The facts come from the config and the safetensors headers only, as for PEFT; pickles
never reach this point (filetypes.py refuses them, and every non-text file is sniffed).
"""

from __future__ import annotations

import json
from typing import Any

from hub.errors import InconsistentAdapter, InvalidAdapterConfig, MissingAdapterFile
from hub.registry.publish.filetypes import CONFIG_NAME, DeclaredFile
from sdk.formats import loads_json_object
from sdk.formats.adapters import HeadFiles, describe_adapters_adapter
from sdk.formats.detect import (
    ADAPTERS_HEAD_CONFIG,
    ADAPTERS_HEAD_WEIGHTS,
    OPENDELTA_CONFIG_NAME,
    DetectedFormat,
    detect_format,
)
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.opendelta import describe_opendelta_adapter
from sdk.formats.peft import MAX_CONFIG_BYTES
from sdk.formats.safetensors import SafetensorsHeader

_LABELS = {"adapters": "an `adapters` (AdapterHub) adapter", "opendelta": "an OpenDelta delta"}


def detect(files: list[DeclaredFile], texts: dict[str, str]) -> DetectedFormat | None:
    """The library that wrote the upload; None means PEFT's checks apply (and name what is wrong)."""
    configs = {name: _loose_json(texts[name]) for name in (CONFIG_NAME, OPENDELTA_CONFIG_NAME) if name in texts}
    detected = detect_format([f.path for f in files], configs)
    if detected is None and CONFIG_NAME not in texts:
        raise MissingAdapterFile(
            f"The upload has no {CONFIG_NAME} (PEFT, `adapters`) and its {OPENDELTA_CONFIG_NAME} is not an "
            "OpenDelta delta config (no delta_type)."
        )
    return detected


def describe_foreign(
    detected: DetectedFormat, texts: dict[str, str], headers: dict[str, SafetensorsHeader]
) -> tuple[dict[str, Any], SafetensorsHeader, dict[str, Any]]:
    """(config, weights header, facts) of an `adapters` or OpenDelta upload; HubError naming the file."""
    config = _strict_config(texts[detected.config_name], detected.config_name)
    weights = headers.get(detected.weights_name)
    if weights is None:
        raise MissingAdapterFile(
            f"{_LABELS[detected.library]} keeps its weights in {detected.weights_name} at the top level "
            "(the SDK converts a pickle to it on publish)."
        )
    try:
        if detected.library == "adapters":
            facts = describe_adapters_adapter(config, weights, _head(texts, headers)).to_dict()
        else:
            facts = describe_opendelta_adapter(config, weights).to_dict()
    except InconsistentAdapterError as error:
        raise InconsistentAdapter(f"{detected.config_name} and {detected.weights_name} disagree: {error}") from None
    except AdapterConfigError as error:
        raise InvalidAdapterConfig(f"{detected.config_name}: {error}") from None
    return config, weights, facts


def _head(texts: dict[str, str], headers: dict[str, SafetensorsHeader]) -> HeadFiles | None:
    if ADAPTERS_HEAD_CONFIG not in texts:
        return None
    config = _strict_config(texts[ADAPTERS_HEAD_CONFIG], ADAPTERS_HEAD_CONFIG)
    return HeadFiles(config, headers.get(ADAPTERS_HEAD_WEIGHTS))


def _strict_config(text: str, name: str) -> dict[str, Any]:
    raw = text.encode("utf-8")
    if len(raw) > MAX_CONFIG_BYTES:
        raise InvalidAdapterConfig(f"{name} is {len(raw)} bytes; the limit is {MAX_CONFIG_BYTES}.")
    try:
        config = loads_json_object(raw, AdapterConfigError, name)
        # Stored as JSON text (jsonb on PostgreSQL): lone surrogates ("\ud800") cannot be encoded.
        json.dumps(config, ensure_ascii=False).encode("utf-8")
    except AdapterConfigError as error:
        raise InvalidAdapterConfig(f"{name}: {error}") from None
    except (UnicodeEncodeError, RecursionError):
        raise InvalidAdapterConfig(f"{name} holds text that cannot be stored as UTF-8.") from None
    return config


def _loose_json(text: str) -> object:
    # Only for telling formats apart: the chosen config is parsed strictly afterwards.
    try:
        return json.loads(text)
    except ValueError:
        return None
