"""The adapter_config.json of AdapterHub's `adapters` library (1.3.0): method names and AdapterHub's config id.

A saved config holds the full adapter configuration, not the name it was made from ("seq_bn", "houlsby"...),
so the method is read back from the fields that tell the configurations apart (adapters'
configuration/adapter_config.py, ADAPTER_CONFIG_MAP; docs/adapter-formats.md 2.2).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sdk.formats._common import show
from sdk.formats.errors import AdapterConfigError

Config = Mapping[str, object]
# adapters/utils.py: ADAPTER_CONFIG_HASH_IGNORE_DEFAULT. Defaults of keys added in v3 are left out of the
# hash so that config ids stay those of the v2 index (pfeiffer = 9076f36a74755ac4).
_HASH_IGNORE_DEFAULT: dict[str, object] = {
    "phm_layer": True, "phm_dim": 4, "factorized_phm_W": True, "shared_W_phm": False, "shared_phm_rule": True,
    "factorized_phm_rule": False, "phm_c_init": "normal", "phm_init_range": 0.0001, "learn_phm": True,
    "hypercomplex_nonlinearity": "glorot-uniform", "phm_rank": 1, "phm_bias": True, "init_weights": "bert",
    "scaling": 1.0,
}  # fmt: skip
# Unions that ADAPTER_CONFIG_MAP names (their parts, as method_of names them).
_NAMED_UNIONS = {
    frozenset({"prefix_tuning", "par_bn"}): "mam",
    frozenset({"prefix_tuning", "scaled_par_bn"}): "mam",
    frozenset({"lora", "prefix_tuning", "seq_bn"}): "unipelt",
}
BOTTLENECK = "bottleneck"
# A method is a facet value: short, lower-case (compacter++ and unions like prefix_tuning+seq_bn included).
_METHOD_RE = re.compile(r"[a-z0-9][a-z0-9_+.-]{0,31}")
MAX_UNION_DEPTH = 4


@dataclass(frozen=True)
class AdaptersSettings:
    """The fields of an `adapters` adapter_config.json that the checks and the facts rely on."""

    name: str
    architecture: str
    method: str
    components: list[str]
    config: Config
    model_type: str | None
    model_class: str | None
    model_name: str | None
    hidden_size: int | None
    library_version: str | None


def read_adapters_settings(document: Config) -> AdaptersSettings:
    """Validate the top level and the nested ``config``; AdapterConfigError names the field at fault."""
    config = document.get("config")
    if not isinstance(config, Mapping):
        raise AdapterConfigError("adapter_config.json: 'config' must be an object (the adapter configuration)")
    name = document.get("name")
    if not isinstance(name, str) or not name or "." in name or len(name) > 200:
        raise AdapterConfigError(f"adapter_config.json: 'name' must be a non-empty adapter name, got {show(name)}")
    hidden = document.get("hidden_size")
    if hidden is not None and (type(hidden) is not int or not 0 < hidden < 2**31):
        raise AdapterConfigError(f"adapter_config.json: 'hidden_size' must be a positive integer, got {show(hidden)}")
    method = method_of(config)
    if not _METHOD_RE.fullmatch(method):
        method = "union" if architecture_of(config) == "union" else "other"  # the hub's method column: 32 chars
    return AdaptersSettings(
        name=name,
        architecture=architecture_of(config),
        method=method,
        components=_components(config),
        config=config,
        model_type=_optional_str(document, "model_type"),
        model_class=_optional_str(document, "model_class"),
        model_name=_optional_str(document, "model_name"),
        hidden_size=hidden,
        library_version=_library_version(document.get("version")),
    )


def architecture_of(config: Config) -> str:
    """The config's ``architecture``; bottleneck configs (BnConfig) leave it out or null."""
    value = config.get("architecture")
    if value is None:
        return BOTTLENECK
    if not isinstance(value, str) or not value or len(value) > 64:
        raise AdapterConfigError(f"adapter_config.json: config.architecture {show(value)} is not a name")
    return value


def method_of(config: Config, depth: int = 0) -> str:
    """The ADAPTER_CONFIG_MAP name that fits the configuration: seq_bn, double_seq_bn, lora, ia3, mam..."""
    architecture = architecture_of(config)
    if architecture == "union":
        parts = _union_parts(config, depth)
        return _NAMED_UNIONS.get(frozenset(parts), "+".join(parts))
    if architecture == BOTTLENECK:
        return _bottleneck_method(config)
    if architecture == "lora":
        return _lora_method(config)
    if architecture == "reft":
        return "loreft" if config.get("orthogonality") else "reft"
    return architecture.lower()


def config_id(config: Config) -> str:
    """AdapterHub's config id: sha1 of the minimized config (falsy values and v3 defaults dropped), 16 hex.

    As adapters.utils.get_adapter_config_hash, so ids match the AdapterHub index and the library.
    """
    minimized = _minimize(dict(config))
    assert isinstance(minimized, dict)
    for key, default in _HASH_IGNORE_DEFAULT.items():
        if key in minimized and minimized[key] == default:
            del minimized[key]
    text = json.dumps(minimized, sort_keys=True)
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


def lora_alpha(document: Config) -> float | None:
    """The alpha `adapters` uses: releases before 1.1.0 scaled LoRA wrongly, so on load it takes alpha := r
    for their files (loading.py: _fix_backward_compat, adapter-hub/adapters#770)."""
    config = document.get("config")
    if not isinstance(config, Mapping) or config.get("architecture") != "lora":
        return None
    alpha, rank = config.get("alpha"), config.get("r")
    version = document.get("version")
    if isinstance(version, str) and version.startswith("adapters.") and _release(version) < (1, 1, 0):
        alpha = rank
    return float(alpha) if type(alpha) in (int, float) and abs(alpha) < 2**53 else None  # type: ignore[arg-type]


def _release(version: str) -> tuple[int, ...]:
    """Release numbers of "adapters.1.0.1": (1, 0, 1); pre-release suffixes are ignored."""
    numbers = []
    for part in version.removeprefix("adapters.").split(".")[:3]:
        digits = "".join(itertools.takewhile(str.isdigit, part))
        numbers.append(int(digits) if digits else 0)
    return tuple(numbers)


def _minimize(value: object) -> object:
    if isinstance(value, Mapping):
        return {key: _minimize(item) for key, item in value.items() if item}
    return value


def _bottleneck_method(config: Config) -> str:
    if config.get("phm_layer"):
        return "compacter" if config.get("mh_adapter") else "compacter++"
    if config.get("is_parallel"):
        return "scaled_par_bn" if config.get("scaling") == "learned" else "par_bn"
    double = bool(config.get("mh_adapter")) and bool(config.get("output_adapter"))
    name = "double_seq_bn" if double else "seq_bn"
    return f"{name}_inv" if config.get("inv_adapter") else name


def _lora_method(config: Config) -> str:
    if config.get("composition_mode") == "scale":
        return "ia3"
    vera = config.get("vera_d") is not None or config.get("vera_b") is not None
    if vera:
        return "dvora" if config.get("use_dora") else "vera"
    return "dora" if config.get("use_dora") else "lora"


def _union_parts(config: Config, depth: int) -> list[str]:
    parts = config.get("configs")
    if depth >= MAX_UNION_DEPTH or not isinstance(parts, list) or not parts:
        raise AdapterConfigError("adapter_config.json: a union config needs a non-empty 'configs' list")
    if not all(isinstance(part, Mapping) for part in parts):
        raise AdapterConfigError("adapter_config.json: every entry of a union's 'configs' must be an object")
    return [method_of(part, depth + 1) for part in parts]


def _components(config: Config) -> list[str]:
    if architecture_of(config) != "union":
        return []
    return [method_of(part, 1) for part in config.get("configs", [])]  # type: ignore[union-attr]


def _library_version(value: object) -> str | None:
    """The library version: "adapters.1.3.0" gives "1.3.0" (adapter-transformers: kept as is)."""
    if not isinstance(value, str) or not value:
        return None
    return value.removeprefix("adapters.")[:64]


def _optional_str(document: Config, key: str) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise AdapterConfigError(f"adapter_config.json: {key!r} must be a string, got {show(value)}")
    return value
