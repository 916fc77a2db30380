"""Merge LoRA adapters into one, with the arithmetic of PEFT 0.21's ``LoraModel.add_weighted_adapter``.

Each source i brings, per module, A_i [r_i, in...], B_i [out, r_i, 1...] and its scaling s_i (lora_alpha/r_i,
alpha/sqrt(r_i) with rsLoRA, patterns applied). The merged adapter has lora_alpha = r = R, so its own
scaling is 1 and the delta is B A:

- ``cat``: A = [w_1 s_1 A_1; w_2 s_2 A_2; ...] (rows), B = [B_1, B_2, ...] (columns): B A = sum w_i s_i B_i A_i,
  exactly what the adapters compute when run together with those weights.
- ``linear``: A = sum sign(w_i s_i) sqrt|w_i s_i| A_i, B = sum sqrt|w_i s_i| B_i (all ranks equal). The cross
  terms B_i A_j make this an approximation, as in PEFT.
- ``svd``: the weighted sum of full deltas, sum w_i s_i B_i A_i, laid out [out, in * kernel], truncated to
  rank R by SVD: B = U_R diag(S_R), A = Vh_R (optionally clamped at a quantile, as PEFT's svd_clamp).
- ``ties``, ``dare_linear``, ``dare_ties``, ``magnitude_prune``: as ``linear`` (A and B apart, the same
  sqrt weights) with peft.utils.merge_utils' function of that name in place of the weighted sum;
  their ``_svd`` forms: as ``svd`` with that function combining the deltas (laid out as PEFT's
  get_delta_weight, [in, out] for embeddings and fan_in_fan_out, so DARE's masks fall where PEFT's do).

Where PEFT's result is wrong this deviates on purpose: sources with rsLoRA make PEFT keep use_rslora in the
merged config, so the merged scaling becomes sqrt(R) instead of 1 (huggingface/peft#3761); here the merged
config never uses rsLoRA. Modules with a smaller rank than R are zero-padded (as PEFT allocates them), so the
result loads with one r and no rank_pattern (huggingface/peft#3737). The full base embeddings PEFT saves
beside embedding LoRA are carried over unchanged (they must be equal in every source).
"""

from __future__ import annotations

import json
import math
import re
import secrets
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import torch
from safetensors.torch import load_file, save_file
from tqdm.auto import tqdm

from sdk.formats import PEFT_CONFIG_NAME, PEFT_WEIGHTS_NAME, describe_peft_adapter, parse_peft_config, strip_prefix
from sdk.formats.safetensors import read_header_from_path
from sdk.torch.errors import INSTALL_HINT, MergeIncompatible
from sdk.torch.lora import LoraOptions
from sdk.torch.merge_check import (
    DELTA_METHODS,
    IGNORED_EXTRA_SUFFIX,
    RANDOM_METHODS,
    SIGN_METHODS,
    MergeSource,
    check_mergeable,
)

__all__ = ["LoadedSource", "MergedLora", "load_source", "merge_lora", "write_adapter"]

CHECKPOINT_PREFIX = "base_model.model."
_ROLES = {".lora_A.weight": ("A", ".weight"), ".lora_B.weight": ("B", ".weight"),
          ".lora_embedding_A": ("A", ""), ".lora_embedding_B": ("B", "")}  # fmt: skip


@dataclass(frozen=True)
class LoadedSource:
    """A source with its tensors read (adapter_model.safetensors, keys as PEFT saves them)."""

    source: MergeSource
    tensors: Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class _Pair:
    A: torch.Tensor
    B: torch.Tensor
    scaling: float
    embedding: bool
    transposed: bool  # PEFT's delta is [in, out] (embeddings, fan_in_fan_out): pruning draws in that layout


@dataclass(frozen=True)
class MergedLora:
    """The merged adapter: its adapter_config.json and its tensors (PEFT key names)."""

    config: dict[str, object]
    tensors: dict[str, torch.Tensor]
    rank: int
    parameters: dict[str, object] = field(default_factory=dict)


def load_source(
    folder: str | Path, *, label: str | None = None, base_model: str | None = None, base_fingerprint: str | None = None
) -> LoadedSource:
    """Read a PEFT folder (adapter_config.json + adapter_model.safetensors) as a merge source.

    Args:
        folder: the adapter folder.
        label: the name used in messages (default: the folder path).
        base_model, base_fingerprint: the base identity, when known (checked to agree between sources).

    Returns:
        The source with its facts (from the header) and tensors.

    Raises:
        FormatError: the config or the header is malformed. FileNotFoundError: a file is missing.
    """
    folder = Path(folder)
    config = parse_peft_config((folder / PEFT_CONFIG_NAME).read_bytes())
    weights = folder / PEFT_WEIGHTS_NAME
    facts = describe_peft_adapter(config, read_header_from_path(weights)).to_dict()
    source = MergeSource(label or str(folder), config, facts, base_model, base_fingerprint)
    return LoadedSource(source, load_file(weights))


def write_adapter(merged: MergedLora, folder: str | Path, *, card: str | None = None) -> Path:
    """Save a merged adapter as PEFT does: adapter_config.json, adapter_model.safetensors, and README.md.

    Args:
        merged: what merge_lora returned.
        folder: where to write (created if missing).
        card: the model card (markdown) for README.md; none written when None.

    Returns:
        The folder, loadable with ``PeftModel.from_pretrained(base, folder)`` or ``load_adapter_folder``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / PEFT_CONFIG_NAME).write_text(json.dumps(merged.config, indent=2, sort_keys=True) + "\n")
    save_file(merged.tensors, str(folder / PEFT_WEIGHTS_NAME), metadata={"format": "pt"})
    if card is not None:
        (folder / "README.md").write_text(card)
    return folder


def merge_lora(
    sources: Sequence[LoadedSource],
    weights: Sequence[float],
    method: str,
    *,
    svd_rank: int | None = None,
    svd_clamp: float | None = None,
    density: float | None = None,
    majority_sign_method: str | None = None,
    seed: int | None = None,
) -> MergedLora:
    """Merge LoRA adapters into one (checked first with check_mergeable).

    Args:
        sources: the adapters with their tensors.
        weights: one number per source; negative weights subtract.
        method: one of merge_check.METHODS (PEFT's combination types).
        svd_rank: the merged rank for svd and *_svd (default: the largest source rank, as PEFT).
        svd_clamp: for svd and *_svd, clamp U and Vh at this quantile of their values (as PEFT's svd_clamp).
        density: for ties, dare_* and magnitude_prune*: the fraction of entries each source keeps.
        majority_sign_method: for ties, dare_ties and their _svd forms: "total" (default) or "frequency".
        seed: for dare_*: seeds torch's generator for the random masks (default: a fresh seed); the
            global generator is restored afterwards.

    Returns:
        The merged adapter's config and tensors, in float32 unless every source is stored in one other
        float dtype, and the parameters used (with the seed drawn, for DARE).

    Raises:
        MergeIncompatible: the sources cannot be merged with this method (every reason listed).
        ValueError: bad arguments (unknown method, weights that do not match the sources, options the
            method does not take or lacks).
        ImportError: ties, dare and magnitude_prune methods use peft's merge functions; peft is missing.
    """
    given = {"svd_rank": svd_rank, "svd_clamp": svd_clamp, "density": density,
             "majority_sign_method": majority_sign_method, "seed": seed}  # fmt: skip
    check_mergeable([loaded.source for loaded in sources], weights, method, **given)
    options = _Options.chosen(method, density, majority_sign_method, svd_clamp, seed)
    pairs = [_pairs(loaded) for loaded in sources]
    rank = _merged_rank([loaded.source for loaded in sources], pairs, method, svd_rank)
    dtype = _output_dtype(sources)
    tensors: dict[str, torch.Tensor] = {}
    with _seeded(options.seed):
        for path in _progress(_paths(pairs), method):
            present = [(group[path], float(w)) for group, w in zip(pairs, weights, strict=True) if path in group]
            _check_same_module(path, present, sources, method)
            a, b = _merger(method)(present, rank, options)
            tensors.update(_keys(path, present[0][0].embedding, _padded(a, b, rank), dtype))
    tensors.update(_base_copies(sources, method))
    config = _merged_config(sources[0].source, rank, _paths(pairs))
    return MergedLora(config, tensors, rank, options.recorded(method, rank if method in DELTA_METHODS else None))


@dataclass(frozen=True)
class _Options:
    """The method's parameters with PEFT's defaults filled in (majority sign "total"; a seed for DARE)."""

    density: float | None = None
    majority_sign_method: str | None = None
    svd_clamp: float | None = None
    seed: int | None = None

    @classmethod
    def chosen(
        cls, method: str, density: float | None, sign: str | None, clamp: float | None, seed: int | None
    ) -> _Options:
        if method in SIGN_METHODS:
            sign = sign or "total"
        if method in RANDOM_METHODS and seed is None:
            seed = secrets.randbelow(2**31)  # recorded, so the merge can be repeated
        return cls(density, sign, clamp, seed)

    def recorded(self, method: str, svd_rank: int | None) -> dict[str, object]:
        """What the model card lists: every parameter that shaped the result."""
        values = {"method": method, "density": self.density, "majority_sign_method": self.majority_sign_method,
                  "svd_rank": svd_rank, "svd_clamp": self.svd_clamp, "seed": self.seed}  # fmt: skip
        return {key: value for key, value in values.items() if value is not None}


def _progress(paths: list[str], method: str) -> Iterator[str]:
    """A module-by-module bar, as the downloads have, only when stderr is a terminal (not in logs, CI)."""
    return iter(tqdm(paths, desc=f"merging ({method})", unit="module", leave=False, disable=not sys.stderr.isatty()))


@contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """DARE draws its masks from torch's global generator (peft's random_pruning): seed it, then restore it."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _pairs(loaded: LoadedSource) -> dict[str, _Pair]:
    scaling = LoraOptions.from_config(loaded.source.config).rank_and_scaling
    fan_in_fan_out = bool(loaded.source.config.get("fan_in_fan_out"))
    found: dict[str, dict[str, torch.Tensor]] = {}
    embedding: set[str] = set()
    for key, tensor in loaded.tensors.items():
        name = strip_prefix(key)
        for suffix, (role, _) in _ROLES.items():
            if name.endswith(suffix):
                path = name[: -len(suffix)]
                found.setdefault(path, {})[role] = tensor.detach().to(torch.float32)
                if "embedding" in suffix:
                    embedding.add(path)
    return {
        path: _Pair(group["A"], group["B"], scaling(path)[1], path in embedding, path in embedding or fan_in_fan_out)
        for path, group in found.items()
    }


def _paths(pairs: Sequence[Mapping[str, _Pair]]) -> list[str]:
    """Every adapted module, in natural order (layer numbers as numbers).

    DARE draws its masks module after module; PEFT goes in the model's module order, which the checkpoint
    does not keep (safetensors sorts its keys). Natural order is the model's wherever the module names
    within a block sort as the model defines them (GPT-2's attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj).
    """
    return sorted({path for group in pairs for path in group}, key=_natural_key)


def _natural_key(path: str) -> list[tuple[int, int | str]]:
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", path) if part]


def _merged_rank(
    sources: Sequence[MergeSource], pairs: Sequence[Mapping[str, _Pair]], method: str, svd_rank: int | None
) -> int:
    if method == "cat":
        # The smallest R that holds every module's concatenation (PEFT allocates sum of config ranks; the
        # difference is zero padding only).
        return max(sum(group[path].A.shape[0] for group in pairs if path in group) for path in _paths(pairs))
    if method in DELTA_METHODS:
        return svd_rank or max(source.config_rank for source in sources)
    return max(pair.A.shape[0] for group in pairs for pair in group.values())


def _check_same_module(
    path: str, present: list[tuple[_Pair, float]], sources: Sequence[LoadedSource], method: str
) -> None:
    """Headers were checked already; kernel sizes of convolutions are only visible here."""
    shapes = {(tuple(pair.A.shape[1:]), tuple(pair.B.shape[:1]) + tuple(pair.B.shape[2:])) for pair, _ in present}
    if len(shapes) > 1:
        labels = ", ".join(loaded.source.label for loaded in sources)
        raise MergeIncompatible([f"module {path!r}: the adapters ({labels}) give it different shapes"], method=method)


def _cat(present: list[tuple[_Pair, float]], rank: int, options: _Options) -> tuple[torch.Tensor, torch.Tensor]:
    a = torch.cat([pair.A * weight * pair.scaling for pair, weight in present], dim=0)
    b = torch.cat([pair.B for pair, _ in present], dim=1)
    return a, b


def _separately(
    combine: Combine,
) -> Callable[[list[tuple[_Pair, float]], int, _Options], tuple[torch.Tensor, torch.Tensor]]:
    """PEFT's _generalized_task_arithmetic_weighted_adapter: combine the A matrices, then the B matrices."""

    def merge(present: list[tuple[_Pair, float]], rank: int, options: _Options) -> tuple[torch.Tensor, torch.Tensor]:
        # As PEFT: the sign goes on A only, so that B A carries it once.
        scaled = [weight * pair.scaling for pair, weight in present]
        weights_a = torch.tensor([math.copysign(math.sqrt(abs(value)), value) for value in scaled])
        weights_b = torch.tensor([math.sqrt(abs(value)) for value in scaled])
        a = combine([pair.A for pair, _ in present], weights_a, options)
        b = combine([pair.B for pair, _ in present], weights_b, options)
        return a, b

    return merge


def _through_svd(
    combine: Combine,
) -> Callable[[list[tuple[_Pair, float]], int, _Options], tuple[torch.Tensor, torch.Tensor]]:
    """PEFT's _svd_generalized_task_arithmetic_weighted_adapter: combine the full deltas, truncate by SVD."""

    def merge(present: list[tuple[_Pair, float]], rank: int, options: _Options) -> tuple[torch.Tensor, torch.Tensor]:
        # The deltas laid out as PEFT's get_delta_weight returns them, so random masks fall on the same entries.
        deltas = [
            _transpose(pair.B.flatten(1) @ pair.A.flatten(1), pair.transposed) * pair.scaling for pair, _ in present
        ]
        delta = combine(deltas, torch.tensor([weight for _, weight in present]), options)
        delta = _transpose(delta, present[0][0].transposed)
        return _truncated(delta, rank, options.svd_clamp, present[0][0])

    return merge


def _transpose(tensor: torch.Tensor, transposed: bool) -> torch.Tensor:
    return tensor.T if transposed else tensor


def _truncated(
    delta: torch.Tensor, rank: int, clamp: float | None, template: _Pair
) -> tuple[torch.Tensor, torch.Tensor]:
    """B = U_R diag(S_R), A = Vh_R of the [out, in * kernel] delta, clamped as PEFT's svd_clamp."""
    u, s, vh = torch.linalg.svd(delta, full_matrices=False)
    kept = min(rank, s.shape[0])
    u = u[:, :kept] @ torch.diag(s[:kept])
    vh = vh[:kept, :]
    if clamp is not None:
        limit = torch.quantile(torch.cat([u.flatten(), vh.flatten()]), clamp)
        u, vh = u.clamp(-limit, limit), vh.clamp(-limit, limit)
    a = vh.reshape(kept, *template.A.shape[1:])
    b = u.reshape(template.B.shape[0], kept, *template.B.shape[2:])
    return a, b


Combine = Callable[[list[torch.Tensor], torch.Tensor, "_Options"], torch.Tensor]


def _peft_combine(name: str) -> Combine:
    """One of peft.utils.merge_utils' functions (ties, dare_linear, dare_ties, magnitude_prune) with its options."""

    def combine(tensors: list[torch.Tensor], weights: torch.Tensor, options: _Options) -> torch.Tensor:
        function = getattr(peft_merge_utils(), name)
        extra = (options.majority_sign_method,) if "ties" in name else ()
        with warnings.catch_warnings():  # density 1 keeps everything, which peft warns about
            warnings.simplefilter("ignore", UserWarning)
            return function(tensors, weights, options.density, *extra)

    return combine


def peft_merge_utils() -> ModuleType:
    """peft.utils.merge_utils, whose TIES, DARE and magnitude pruning are reused rather than rewritten."""
    try:
        from peft.utils import merge_utils
    except ImportError:
        raise ImportError(f"ties, dare and magnitude_prune merges use peft's merge functions: {INSTALL_HINT}") from None
    return merge_utils


def _task_arithmetic(tensors: list[torch.Tensor], weights: torch.Tensor, options: _Options) -> torch.Tensor:
    return _weighted_sum(tensors, weights)


def _merger(method: str) -> Callable[[list[tuple[_Pair, float]], int, _Options], tuple[torch.Tensor, torch.Tensor]]:
    if method == "cat":
        return _cat
    base = method.removesuffix("_svd") if method != "svd" else "linear"
    combine = _task_arithmetic if base == "linear" else _peft_combine(base)
    return _through_svd(combine) if method in DELTA_METHODS else _separately(combine)


def _weighted_sum(tensors: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    """PEFT's task_arithmetic: stack, multiply by the weights broadcast over each tensor, sum."""
    stacked = torch.stack(tensors, dim=0)
    return (stacked * weights.view(-1, *([1] * (stacked.dim() - 1)))).sum(dim=0)


def _padded(a: torch.Tensor, b: torch.Tensor, rank: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero rows of A and columns of B up to `rank`: they add nothing to B A."""
    missing = rank - a.shape[0]
    if missing <= 0:
        return a, b
    a = torch.cat([a, a.new_zeros(missing, *a.shape[1:])], dim=0)
    b = torch.cat([b, b.new_zeros(b.shape[0], missing, *b.shape[2:])], dim=1)
    return a, b


def _keys(path: str, embedding: bool, pair: tuple[torch.Tensor, torch.Tensor], dtype: torch.dtype) -> dict:
    a, b = (tensor.to(dtype).contiguous() for tensor in pair)
    if embedding:
        return {f"{CHECKPOINT_PREFIX}{path}.lora_embedding_A": a, f"{CHECKPOINT_PREFIX}{path}.lora_embedding_B": b}
    return {f"{CHECKPOINT_PREFIX}{path}.lora_A.weight": a, f"{CHECKPOINT_PREFIX}{path}.lora_B.weight": b}


def _base_copies(sources: Sequence[LoadedSource], method: str) -> dict[str, torch.Tensor]:
    """The base embeddings PEFT saves beside embedding LoRA, carried over: they must agree between sources
    (a resized vocabulary lives there, and the merged adapter needs it as much as its sources did)."""
    copies: dict[str, tuple[str, torch.Tensor]] = {}
    for loaded in sources:
        for key, tensor in loaded.tensors.items():
            if not key.endswith(IGNORED_EXTRA_SUFFIX):
                continue
            first = copies.setdefault(key, (loaded.source.label, tensor))
            if first[1].shape != tensor.shape or not torch.equal(first[1], tensor):
                raise MergeIncompatible(
                    [f"{first[0]} and {loaded.source.label} carry different base weights {key!r}"], method=method
                )
    return {key: tensor.contiguous() for key, (_, tensor) in copies.items()}


def _output_dtype(sources: Sequence[LoadedSource]) -> torch.dtype:
    dtypes = {tensor.dtype for loaded in sources for tensor in loaded.tensors.values() if tensor.is_floating_point()}
    return dtypes.pop() if len(dtypes) == 1 else torch.float32


def _merged_config(first: MergeSource, rank: int, paths: list[str]) -> dict[str, object]:
    """The first source's config (as PEFT's replace()), with the merged rank, scaling 1, and exact targets.

    Targets are the full module paths, so PEFT injects exactly the modules that have tensors; the first
    source's layer selection and exclusions would otherwise drop or add modules.
    """
    config = dict(first.config)
    config.update(
        r=rank,
        lora_alpha=rank,
        use_rslora=False,
        rank_pattern={},
        alpha_pattern={},
        target_modules=paths,
        layers_to_transform=None,
        layers_pattern=None,
        exclude_modules=None,
    )
    if first.base_model:
        config["base_model_name_or_path"] = first.base_model
    return config
