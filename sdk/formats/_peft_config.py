"""A typed, validated view of the adapter_config.json fields that the structural checks rely on.

PEFT fills a missing field with its dataclass default when loading, so the defaults here are PEFT's:
judging a file by a default PEFT would not use would reject adapters that load fine.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field

from sdk.formats._common import show
from sdk.formats._regex import compile_pattern, match_work
from sdk.formats.errors import AdapterConfigError

LORA_TYPES = frozenset({"LORA", "ADALORA"})
PROMPT_TYPES = frozenset({"PROMPT_TUNING", "P_TUNING", "PREFIX_TUNING", "MULTITASK_PROMPT_TUNING"})
ALL_LINEAR = "all-linear"  # PEFT's shorthand for "every linear layer but the output head"
# Path segments followed by a layer index: Llama "layers", GPT-2 "h", BERT "layer", T5 "block", ViT "blocks".
LAYER_SEGMENTS = frozenset({"layers", "h", "layer", "block", "blocks"})

Config = dict[str, object]
MAX_FLOAT = sys.float_info.max  # a larger JSON integer cannot be converted to float
_TYPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
# Each key is a regex tried against every module: real rank_patterns have a few keys, or one per module.
MAX_PATTERN_KEYS = 1000

# peft.mapping.PEFT_TYPE_TO_PREFIX_MAPPING (0.21.2): the parameter-name prefix of each tuner.
PEFT_TYPE_TO_PREFIX: dict[str, str] = {
    "LORA": "lora_", "ADALORA": "lora_", "ADAMSS": "adamss_", "ADAPTION_PROMPT": "adaption_prompt_",
    "BEFT": "beft_", "BOFT": "boft_", "C3A": "c3a_", "CARTRIDGE": "cartridge_", "CPT": "cpt_",
    "DEFT": "deft_", "DELORA": "delora_", "FOURIERFT": "fourierft_", "FROD": "frod_", "GLORA": "glora_",
    "GRALORA": "gralora_", "HIRA": "hira_", "HRA": "hra_", "IA3": "ia3_", "LILY": "lily_",
    "LN_TUNING": "ln_tuning_", "LOHA": "hada_", "LOKR": "lokr_", "MISS": "miss_", "OFT": "oft_",
    "SHIRA": "shira_", "OSF": "osf_", "PEANUT": "peanut_", "POLY": "poly_", "PSOFT": "psoft_",
    "PVERA": "pvera_lambda_", "RANDLORA": "randlora_", "ROAD": "road_", "SHADOW": "shadow_",
    "SUPERTUNING": "supertuning_", "TINYLORA": "tinylora_", "TRAINABLE_TOKENS": "trainable_tokens_",
    "UNILORA": "unilora_", "VBLORA": "vblora_", "VERA": "vera_lambda_", "WAVEFT": "waveft_",
    "XLORA": "xlora_",
}  # fmt: skip


@dataclass(frozen=True)
class ModuleSelector:
    """Module matching as in PEFT's check_target_module_exists: a list matches a name or a dotted
    suffix; a string is a regex that must match the whole module path."""

    names: frozenset[str] = frozenset()
    pattern: re.Pattern[str] | None = None
    everything: bool = False
    source: str = "[]"

    def matches(self, path: str) -> bool:
        """Whether the module at `path` is selected."""
        if self.everything:
            return True
        if self.pattern is not None:
            return self.pattern.fullmatch(path) is not None
        # `path == n or path.endswith("." + n)` for all n, in O(segments) rather than O(len(names)).
        return path in self.names or any(path[i + 1 :] in self.names for i in _dots(path))

    def work(self, path_chars: int) -> float:
        """Worst-case regex steps of one `matches` on a path of `path_chars` characters (names cost nothing)."""
        return 0.0 if self.pattern is None else match_work(self.pattern, path_chars)


@dataclass(frozen=True)
class RankPattern:
    """LoRA's rank_pattern: the first key matching `(.*\\.)?key$` wins (PEFT's get_pattern_key)."""

    entries: tuple[tuple[re.Pattern[str], int], ...] = ()

    def lookup(self, path: str) -> int | None:
        """The rank the pattern assigns to `path`, if any."""
        for pattern, value in self.entries:
            if pattern.match(path):
                return value
        return None

    def work(self, path_chars: int) -> float:
        """Worst-case regex steps of one `lookup` (every key tried) on a path of `path_chars` characters."""
        return sum(match_work(pattern, path_chars) for pattern, _ in self.entries)


@dataclass(frozen=True)
class PeftSettings:
    """The config fields the checks use, validated and with PEFT's defaults."""

    peft_type: str
    targets: ModuleSelector
    excluded: ModuleSelector = field(default_factory=ModuleSelector)
    parameter_targets: ModuleSelector = field(default_factory=ModuleSelector)
    feedforward: ModuleSelector = field(default_factory=ModuleSelector)
    modules_to_save: frozenset[str] = frozenset()
    bias: str = "none"
    lora_bias: bool = False
    use_dora: bool = False
    trainable_tokens: bool = False
    r: int = 8
    init_r: int = 12
    rank_pattern: RankPattern = field(default_factory=RankPattern)
    has_rank_pattern: bool = False
    layer_segments: frozenset[str] = LAYER_SEGMENTS

    def matching_work(self, path_chars: int) -> float:
        """Worst-case regex steps the checks spend on one module path of `path_chars` characters."""
        selectors = (self.targets, self.excluded, self.feedforward)
        return sum(selector.work(path_chars) for selector in selectors) + self.rank_pattern.work(path_chars)


def peft_type_of(config: Config) -> str:
    """The peft_type; AdapterConfigError when missing or a known type in the wrong case."""
    value = config.get("peft_type")
    if not isinstance(value, str) or not value.strip():
        raise AdapterConfigError(f"peft_type must be a non-empty string, got {show(value)}")
    if not _TYPE_NAME.fullmatch(value):
        # PeftType members are identifiers; anything else cannot load and would end up in database columns.
        raise AdapterConfigError(f"peft_type {show(value)} is not a PEFT type name")
    if value not in PEFT_TYPE_TO_PREFIX and value.upper() in PEFT_TYPE_TO_PREFIX:
        # PEFT looks the type up verbatim, so "lora" would fail to load there.
        raise AdapterConfigError(f"peft_type {show(value)} must be written {value.upper()!r}")
    return value


def read_settings(config: Config) -> PeftSettings:
    """Validate the fields the structural check of the config's method relies on."""
    settings = PeftSettings(
        peft_type=peft_type_of(config),
        targets=ModuleSelector(everything=True),
        modules_to_save=frozenset(get_names(config, "modules_to_save")),
        bias=get_str(config, "bias") or "none",
        trainable_tokens=config.get("trainable_token_indices") not in (None, [], {}),
        layer_segments=LAYER_SEGMENTS | frozenset(get_names(config, "layers_pattern")),
    )
    if settings.peft_type in LORA_TYPES or settings.peft_type == "IA3":
        settings = _with_selectors(settings, config)
    if settings.peft_type in LORA_TYPES:
        settings = _with_lora_fields(settings, config)
    return settings


def _with_selectors(settings: PeftSettings, config: Config) -> PeftSettings:
    """Module selection fields (checked only for methods whose tensors we check)."""
    return dataclasses.replace(
        settings,
        targets=_targets(config),
        excluded=selector(config, "exclude_modules"),
        parameter_targets=_parameter_targets(config),
        feedforward=selector(config, "feedforward_modules"),
    )


def _with_lora_fields(settings: PeftSettings, config: Config) -> PeftSettings:
    """LoRA/AdaLoRA fields; other methods give `r` other meanings (OFT: a number of blocks)."""
    return dataclasses.replace(
        settings,
        lora_bias=get_bool(config, "lora_bias"),
        use_dora=get_bool(config, "use_dora"),
        r=get_int(config, "r", 8),
        init_r=get_int(config, "init_r", 12),
        rank_pattern=_rank_pattern(config) if settings.peft_type == "LORA" else RankPattern(),
        has_rank_pattern=bool(config.get("rank_pattern")),
    )


def selector(config: Config, key: str) -> ModuleSelector:
    """A selector from a list of names or a regex string; missing or null selects nothing."""
    value = config.get(key)
    if value is None:
        return ModuleSelector()
    if isinstance(value, str):
        if value == ALL_LINEAR:
            return ModuleSelector(everything=True, source=show(value))
        return ModuleSelector(pattern=compile_pattern(value, key), source=show(value))
    return ModuleSelector(names=frozenset(get_names(config, key)), source=show(value))


def _targets(config: Config) -> ModuleSelector:
    """target_modules; when absent PEFT picks per-architecture defaults we cannot know, so accept any."""
    if config.get("target_modules") is None:
        none_selected = config.get("target_parameters") is not None
        return ModuleSelector() if none_selected else ModuleSelector(everything=True, source="None")
    return selector(config, "target_modules")


def _parameter_targets(config: Config) -> ModuleSelector:
    """target_parameters ("mlp.experts.down_proj") select the module owning the parameter."""
    owners = {name.rpartition(".")[0] for name in get_names(config, "target_parameters")}
    return ModuleSelector(names=frozenset(owners - {""}), source=show(sorted(owners)))


def _rank_pattern(config: Config) -> RankPattern:
    """LoRA's rank_pattern: {key: int}, keys matched as PEFT does."""
    value = config.get("rank_pattern")
    if value is None:
        return RankPattern()
    if not isinstance(value, dict):
        raise AdapterConfigError(f"rank_pattern must be an object, got {type(value).__name__}")
    if len(value) > MAX_PATTERN_KEYS:
        raise AdapterConfigError(f"rank_pattern has {len(value)} keys; the limit is {MAX_PATTERN_KEYS}")
    entries = []
    for key, rank in value.items():
        if type(rank) is not int or rank < 1:
            raise AdapterConfigError(f"rank_pattern[{show(key)}] must be a positive integer, got {show(rank)}")
        entries.append((compile_pattern(rf"(.*\.)?({key})$", f"rank_pattern key {show(key)}"), rank))
    return RankPattern(tuple(entries))


def get_int(config: Config, key: str, default: int | None, *, minimum: int = 1) -> int | None:
    """An integer field (booleans excluded); missing or null gives `default`."""
    value = config.get(key)
    if value is None:
        return default
    if type(value) is not int or value < minimum:
        raise AdapterConfigError(f"{key} must be an integer >= {minimum}, got {show(value)}")
    return value


def get_number(config: Config, key: str, default: float | None) -> float | None:
    """A numeric field as float; missing or null gives `default`."""
    value = config.get(key)
    if value is None:
        return default
    if type(value) not in (int, float) or abs(value) > MAX_FLOAT:
        raise AdapterConfigError(f"{key} must be a number, got {show(value)}")
    return float(value)


def get_bool(config: Config, key: str) -> bool:
    """A boolean field; missing or null is False."""
    value = config.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise AdapterConfigError(f"{key} must be true or false, got {show(value)}")
    return value


def get_str(config: Config, key: str) -> str | None:
    """A string field; missing, null or empty gives None."""
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise AdapterConfigError(f"{key} must be a string, got {show(value)}")
    return value or None


def get_names(config: Config, key: str) -> list[str]:
    """A list of non-empty strings (a lone string counts as a one-item list); null is empty."""
    value = config.get(key)
    items: Iterable[object] = [value] if isinstance(value, str) else value if value is not None else []
    if not isinstance(items, list):
        raise AdapterConfigError(f"{key} must be a list of strings, got {type(value).__name__}")
    for item in items:
        if not isinstance(item, str) or not item:
            raise AdapterConfigError(f"{key} must hold non-empty strings, got {show(item)}")
    return list(items)


def _dots(path: str) -> Iterable[int]:
    """Indices of the dots in `path`."""
    return (index for index, char in enumerate(path) if char == ".")
