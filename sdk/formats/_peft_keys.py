"""Key naming of a PEFT state dict: module paths, role suffixes, target selection and extra tensors.

Follows PEFT 0.21's get_peft_model_state_dict (docs/adapter-formats.md 1.4); messages name the
tensor or module at fault.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from sdk.formats._common import show
from sdk.formats._peft_config import PeftSettings
from sdk.formats._regex import MAX_SUBJECT_CHARS
from sdk.formats.errors import AdapterConfigError, InconsistentAdapterError
from sdk.formats.safetensors import TensorInfo

# PEFT wraps the model twice (PeftModel -> tuner -> model); prompt-learning extras sit one level up.
KEY_PREFIXES = ("base_model.model.", "base_model.")
# Real module paths are short; the bound keeps config regexes from running over megabyte-long names.
MAX_KEY_CHARS = MAX_SUBJECT_CHARS
# Worst-case regex steps for all the config's patterns over all module paths: about half a second.
MAX_MATCHING_WORK = 500_000_000
# PEFT's EMBEDDING_LAYER_NAMES: saved whole when the vocabulary was resized (save_embedding_layers="auto").
EMBEDDING_LAYER_NAMES = frozenset({"embed_tokens", "lm_head"})
MAX_ENTRY_SEGMENTS = 32
TRAINABLE_TOKENS_SUFFIX = ".token_adapter.trainable_tokens_delta"

LORA_ROLES = {
    ".lora_A.weight": "A",
    ".lora_B.weight": "B",
    ".lora_B.bias": "B.bias",
    ".lora_embedding_A": "embedding_A",
    ".lora_embedding_B": "embedding_B",
    ".lora_magnitude_vector": "magnitude",
}
# AdaLoRA keeps bare Parameters (no ".weight") and the singular values E.
ADALORA_ROLES = {".lora_A": "A", ".lora_B": "B", ".lora_E": "E"}
IA3_ROLES = {".ia3_l": "ia3_l"}


@dataclass(frozen=True)
class ModuleInfo:
    """One adapted module of the base model, as far as the adapter tensors reveal it."""

    kind: str  # "linear" | "embedding" | "conv" | "ia3" | "other"
    in_features: int | None
    out_features: int | None
    rank: int | None


Modules = dict[str, ModuleInfo]
Groups = dict[str, dict[str, TensorInfo]]


def strip_prefix(key: str) -> str:
    """The model-relative path of a checkpoint key."""
    for prefix in KEY_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def group_tensors(tensors: Mapping[str, TensorInfo], roles: Mapping[str, str]) -> tuple[Groups, list[TensorInfo]]:
    """Split tensors into {module path: {role: tensor}} and the tensors no role suffix matches."""
    groups: Groups = {}
    others: list[TensorInfo] = []
    for name, info in tensors.items():
        match = _role_of(strip_prefix(name), roles)
        if match is None:
            others.append(info)
            continue
        path, role = match
        if not path:
            raise InconsistentAdapterError(f"tensor {show(name)} has no module path before its suffix")
        groups.setdefault(path, {})[role] = info
    return groups, others


def _role_of(key: str, roles: Mapping[str, str]) -> tuple[str, str] | None:
    """(module path, role) when `key` ends with one of the role suffixes."""
    for suffix, role in roles.items():
        if key.endswith(suffix) or key == suffix[1:]:
            return key[: -len(suffix)], role
    return None


def check_key_lengths(tensors: Mapping[str, TensorInfo]) -> None:
    """Refuse names far longer than any real module path."""
    for name in tensors:
        if len(name) > MAX_KEY_CHARS:
            raise InconsistentAdapterError(
                f"tensor {show(name)} has a {len(name)}-character name; module paths are under {MAX_KEY_CHARS}"
            )


def check_matching_work(paths: Collection[str], settings: PeftSettings) -> None:
    """Refuse configs whose patterns would take too long over this many module paths (keys x modules)."""
    longest = max((len(path) for path in paths), default=0)
    work = len(paths) * settings.matching_work(longest)
    if work > MAX_MATCHING_WORK:
        raise AdapterConfigError(
            f"matching target_modules, exclude_modules and rank_pattern ({len(settings.rank_pattern.entries)} keys) "
            f"against {len(paths)} modules could take {work:.2g} regex steps; the limit is {MAX_MATCHING_WORK:.2g} "
            "(use fewer or simpler patterns)"
        )


def check_selected(path: str, settings: PeftSettings, tensor: str) -> bool:
    """The module must be targeted and not excluded; True when only target_parameters select it."""
    if settings.excluded.matches(path):
        raise InconsistentAdapterError(
            f"tensor {show(tensor)} adapts module {show(path)}, which exclude_modules excludes"
        )
    if settings.targets.matches(path):
        return False
    if settings.parameter_targets.matches(path):
        return True
    raise InconsistentAdapterError(
        f"tensor {show(tensor)} adapts module {show(path)}, "
        f"which target_modules {settings.targets.source} does not select"
    )


def check_nonempty(info: TensorInfo) -> None:
    """Adapter weights never have a zero dimension; ZeRO-3/FSDP shards saved without gathering do."""
    if info.numel == 0:
        raise InconsistentAdapterError(
            f"tensor {show(info.name)} has shape {list(info.shape)} with no elements "
            "(saved from a ZeRO-3/FSDP shard without gathering?)"
        )


def classify_extras(others: list[TensorInfo], settings: PeftSettings, embeddings: set[str], what: str) -> list[str]:
    """Names of the allowed non-adapter tensors; any other tensor is an error."""
    extras = []
    for info in others:
        if not is_allowed_extra(strip_prefix(info.name), settings, embeddings):
            raise InconsistentAdapterError(
                f"tensor {show(info.name)} is not {what} tensor, and modules_to_save, bias "
                f"({show(settings.bias)}) and embedding saving do not account for it"
            )
        extras.append(info.name)
    return sorted(extras)


def is_allowed_extra(key: str, settings: PeftSettings, embeddings: set[str]) -> bool:
    """Whether PEFT's get_peft_model_state_dict would save `key` beside the adapter weights."""
    owner, _, param = key.rpartition(".")
    if settings.bias != "none" and param == "bias":
        return True
    if settings.trainable_tokens and key.endswith(TRAINABLE_TOKENS_SUFFIX):
        return True
    if owner.endswith(".base_layer") and owner[: -len(".base_layer")] in embeddings:
        return True
    segments = owner.split(".")
    if param == "weight" and not EMBEDDING_LAYER_NAMES.isdisjoint(segments):
        return True
    return _inside_modules_to_save(segments, settings.modules_to_save)


def _inside_modules_to_save(segments: list[str], modules_to_save: frozenset[str]) -> bool:
    """PEFT matches modules_to_save entries as whole dotted segments anywhere in the module path."""
    if not modules_to_save:
        return False
    # Entries are module names of a few segments; the cap keeps the scan linear in the key's length.
    longest = min(max(entry.count(".") + 1 for entry in modules_to_save), MAX_ENTRY_SEGMENTS)
    for start in range(len(segments)):
        for stop in range(start + 1, min(len(segments), start + longest) + 1):
            if ".".join(segments[start:stop]) in modules_to_save:
                return True
    return False


def layer_index(path: str, layer_segments: frozenset[str]) -> int | None:
    """The first `<layers|h|...>.<int>` index in a module path."""
    segments = path.split(".")
    for name, index in itertools.pairwise(segments):
        if name in layer_segments and 0 < len(index) <= 9 and index.isascii() and index.isdigit():
            return int(index)
    return None
