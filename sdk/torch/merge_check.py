"""Can these LoRA adapters be merged? Decided from configs and tensor facts alone, before any weight is read.

The facts are what ``describe_peft_adapter`` derives from the safetensors header (the hub serves them as a
version's ``facts``): per module its kind, in/out features and rank. PEFT's ``add_weighted_adapter`` checks
little (huggingface/peft#1045, #3737, #3761: it fails late or silently writes a wrong adapter), so every
refusal here names the adapters and modules at fault.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sdk.torch.errors import MergeIncompatible

# PEFT's add_weighted_adapter combination types, by how they treat the factors (peft/tuners/lora/model.py).
SEPARATE_METHODS = ("linear", "ties", "dare_linear", "dare_ties", "magnitude_prune")  # A and B merged apart
DELTA_METHODS = ("svd", "ties_svd", "dare_linear_svd", "dare_ties_svd", "magnitude_prune_svd")  # B A, then SVD
METHODS = ("cat", *SEPARATE_METHODS, *DELTA_METHODS)
PRUNING_METHODS = tuple(method for method in METHODS if method.startswith(("ties", "dare", "magnitude")))
SIGN_METHODS = tuple(method for method in METHODS if "ties" in method)  # elect a majority sign
RANDOM_METHODS = tuple(method for method in METHODS if method.startswith("dare"))  # random masks
MAJORITY_SIGN_METHODS = ("total", "frequency")
# Copies of base weights PEFT saves beside embedding LoRA: not part of the delta; merge.py carries them over.
IGNORED_EXTRA_SUFFIX = ".base_layer.weight"
_UNMERGEABLE_OPTIONS = (
    "use_dora", "modules_to_save", "lora_bias", "trainable_token_indices", "layer_replication", "target_parameters",
    "use_qalora", "megatron_config", "alora_invocation_tokens", "arrow_config", "kasa_config", "monteclora_config",
    "use_bdlora", "velora_config",
)  # fmt: skip
# These initialisations rewrite the base weights, so the delta is not B A alone.
_BASE_REWRITING_INITS = ("pissa", "corda", "olora", "loftq", "lora_ga", "mica")


@dataclass(frozen=True)
class MergeSource:
    """One adapter to merge: a label for messages ("acme/a@v2 (revision 1a2b...)" or a folder), its
    adapter_config.json, its facts, and the base identity the hub recorded (None when unknown)."""

    label: str
    config: Mapping[str, object]
    facts: Mapping[str, object]
    base_model: str | None = None
    base_fingerprint: str | None = None
    weights_dtype: str | None = field(default=None, compare=False)

    @property
    def modules(self) -> dict[str, Mapping[str, object]]:
        return dict(self.facts.get("modules") or {})  # type: ignore[call-overload]

    @property
    def config_rank(self) -> int:
        """PEFT's rank for allocating a merged adapter: r, or the largest rank_pattern value above it."""
        pattern = self.config.get("rank_pattern") or {}
        return max([int(self.config.get("r") or 8), *(int(value) for value in pattern.values())])  # type: ignore[union-attr, call-overload]


def check_mergeable(sources: Sequence[MergeSource], weights: Sequence[float], method: str, **options: object) -> None:
    """Raise MergeIncompatible (or ValueError for bad arguments) unless `method` can merge `sources`.

    Args:
        sources: the adapters, in the order of `weights`.
        weights: one finite number per source.
        method: one of METHODS. SEPARATE_METHODS (linear, ties, dare_linear, dare_ties, magnitude_prune)
            need the same modules with the same ranks in every source (as PEFT, which requires equal r);
            cat and DELTA_METHODS (svd, *_svd) take any LoRA modules of one base.
        options: density, majority_sign_method, svd_rank, svd_clamp, seed (see check_options).

    Raises:
        ValueError: an unknown method, no source, weights that do not match the sources, or options the
            method does not take or lacks.
        MergeIncompatible: every reason the adapters cannot be merged, each naming adapters and modules.
    """
    _check_arguments(sources, weights, method)
    check_options(method, **options)
    problems = [problem for source in sources for problem in _source_problems(source)]
    problems += _identity_problems(sources)
    if not problems:
        problems += _shape_problems(sources)
    if not problems and method in SEPARATE_METHODS:
        problems += _equal_rank_problems(sources, method)
    if problems:
        raise MergeIncompatible(problems, method=method)


def _check_arguments(sources: Sequence[MergeSource], weights: Sequence[float], method: str) -> None:
    if method not in METHODS:
        raise ValueError(f"method {method!r} is not one of {', '.join(METHODS)}")
    if not sources:
        raise ValueError("no adapter to merge")
    if len(weights) != len(sources):
        raise ValueError(f"{len(sources)} adapters but {len(weights)} weights were given")
    if not all(isinstance(weight, int | float) and math.isfinite(weight) for weight in weights):
        raise ValueError(f"weights must be finite numbers, not {list(weights)}")


def check_options(
    method: str,
    *,
    density: float | None = None,
    majority_sign_method: str | None = None,
    svd_rank: int | None = None,
    svd_clamp: float | None = None,
    seed: int | None = None,
) -> None:
    """ValueError for an option `method` lacks or does not take (PEFT ignores those silently).

    density (0 < density <= 1, the fraction of entries kept) is required by PRUNING_METHODS;
    majority_sign_method ("total" or "frequency") applies to SIGN_METHODS, seed to RANDOM_METHODS,
    svd_rank (>= 1) and svd_clamp (a quantile in [0, 1]) to DELTA_METHODS.
    """
    given = {"density": density, "majority_sign_method": majority_sign_method, "svd_rank": svd_rank,
             "svd_clamp": svd_clamp, "seed": seed}  # fmt: skip
    takes = {"density": PRUNING_METHODS, "majority_sign_method": SIGN_METHODS, "svd_rank": DELTA_METHODS,
             "svd_clamp": DELTA_METHODS, "seed": RANDOM_METHODS}  # fmt: skip
    for option, value in given.items():
        if value is not None and method not in takes[option]:
            raise ValueError(f"{option} applies to methods {', '.join(takes[option])}, not {method!r}")
    if method in PRUNING_METHODS and density is None:
        raise ValueError(f"method {method!r} needs density (the fraction of entries kept, 0 < density <= 1)")
    if density is not None and not (isinstance(density, int | float) and 0 < density <= 1):
        raise ValueError(f"density must be a number with 0 < density <= 1, not {density!r}")
    if majority_sign_method is not None and majority_sign_method not in MAJORITY_SIGN_METHODS:
        raise ValueError(f"majority_sign_method must be total or frequency, not {majority_sign_method!r}")
    if svd_rank is not None and svd_rank < 1:
        raise ValueError(f"svd_rank must be at least 1, not {svd_rank}")
    if svd_clamp is not None and not 0 <= svd_clamp <= 1:
        raise ValueError(f"svd_clamp is a quantile between 0 and 1, not {svd_clamp}")


def _source_problems(source: MergeSource) -> list[str]:
    config = source.config
    if config.get("peft_type") != "LORA":
        return [f"{source.label}: method {str(config.get('peft_type')).lower()}; only LoRA adapters can be merged"]
    problems = [
        f"{source.label}: {option}={config.get(option)!r} has no merged form (plain LoRA only)"
        for option in _UNMERGEABLE_OPTIONS
        if config.get(option)
    ]
    if (config.get("bias") or "none") != "none":
        problems.append(f"{source.label}: bias={config.get('bias')!r} trains biases, which a merge cannot carry")
    init = config.get("init_lora_weights")
    if isinstance(init, str) and init.lower().startswith(_BASE_REWRITING_INITS):
        problems.append(f"{source.label}: init_lora_weights={init!r} rewrites the base weights; convert it to LoRA")
    extras = [key for key in source.facts.get("extra_tensors") or [] if not str(key).endswith(IGNORED_EXTRA_SUFFIX)]  # type: ignore[union-attr]
    if extras:
        problems.append(f"{source.label}: tensors outside LoRA modules cannot be merged: {', '.join(extras[:5])}")
    if not source.modules:
        problems.append(f"{source.label}: no LoRA module")
    return problems


def _identity_problems(sources: Sequence[MergeSource]) -> list[str]:
    problems = []
    for label, values in (
        ("base model", {source.label: source.base_model for source in sources}),
        ("base fingerprint", {source.label: source.base_fingerprint for source in sources}),
        ("task type", {source.label: source.config.get("task_type") for source in sources}),
    ):
        known = {value for value in values.values() if value}
        if len(known) > 1:
            listing = "; ".join(f"{name}: {value or 'unknown'}" for name, value in values.items())
            problems.append(f"the adapters were trained for different {label}s ({listing})")
    return problems


def _shape_problems(sources: Sequence[MergeSource]) -> list[str]:
    """A module adapted by several sources must be the same module: same kind, same in and out features."""
    problems = []
    seen: dict[str, tuple[str, tuple[object, object, object]]] = {}
    for source in sources:
        for path, info in source.modules.items():
            shape = (info.get("kind"), info.get("in_features"), info.get("out_features"))
            if info.get("kind") not in ("linear", "embedding", "conv"):
                problems.append(f"{source.label}: module {path!r} is a {info.get('kind')} LoRA, which cannot be merged")
            first = seen.setdefault(path, (source.label, shape))
            if first[1] != shape:
                problems.append(
                    f"module {path!r}: {first[0]} adapts a {_describe(first[1])}, {source.label} a {_describe(shape)}"
                )
    return problems


def _equal_rank_problems(sources: Sequence[MergeSource], method: str) -> list[str]:
    """SEPARATE_METHODS combine the A matrices and the B matrices separately (stacked entry by entry), so
    every module needs the same rank in every source, and every source must adapt the same modules (PEFT
    requires equal r, and fails late or writes a wrong adapter otherwise)."""
    problems = []
    first = sources[0]
    for source in sources[1:]:
        missing = sorted(set(first.modules) - set(source.modules))
        extra = sorted(set(source.modules) - set(first.modules))
        if missing or extra:
            detail = "; ".join(
                part
                for part in (_listing(f"{source.label} lacks", missing), _listing(f"{source.label} adds", extra))
                if part
            )
            problems.append(f"{method} needs the same target modules in every adapter as in {first.label}: {detail}")
        for path in sorted(set(first.modules) & set(source.modules)):
            ranks = (first.modules[path].get("rank"), source.modules[path].get("rank"))
            if ranks[0] != ranks[1]:
                problems.append(
                    f"module {path!r}: rank {ranks[0]} in {first.label} but {ranks[1]} in {source.label}; "
                    f"{method} needs equal ranks (use cat or {_delta_form(method)})"
                )
    return problems


def _delta_form(method: str) -> str:
    """The DELTA_METHODS form of a SEPARATE_METHODS method, which takes any ranks."""
    return "svd" if method == "linear" else f"{method}_svd"


def _listing(prefix: str, paths: list[str], limit: int = 5) -> str:
    if not paths:
        return ""
    more = f" and {len(paths) - limit} more" if len(paths) > limit else ""
    return f"{prefix} {', '.join(paths[:limit])}{more}"


def _describe(shape: tuple[object, object, object]) -> str:
    kind, fan_in, fan_out = shape
    return f"{kind} module with in={fan_in}, out={fan_out}"
