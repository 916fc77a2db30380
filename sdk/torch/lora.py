"""LoRA (and DoRA on linear layers) in plain torch, numerically as PEFT 0.21 does it.

Forward semantics: docs/adapter-formats.md 1.6 and peft/tuners/lora/layer.py. Linear layers and GPT-2's
Conv1D share one slot (A [r, in], B [out, r]; only merging transposes for Conv1D); embeddings use
lora_embedding_A [r, num_embeddings] / lora_embedding_B [dim, r]; convolutions A [r, in, *k], B [out, r, 1...].
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from sdk.torch.errors import AdapterLoadError
from sdk.torch.layers import AdapterSlot, as_parameter
from sdk.torch.structure import is_gpt2_conv1d

ROLES = {
    ".lora_A.weight": "A",
    ".lora_B.weight": "B",
    ".lora_embedding_A": "embedding_A",
    ".lora_embedding_B": "embedding_B",
    ".lora_magnitude_vector": "magnitude",
}
_CONV_FUNCTIONS = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


@dataclass(frozen=True)
class LoraOptions:
    """The config fields that decide each module's rank and scaling."""

    r: int = 8
    alpha: float = 8
    use_rslora: bool = False
    use_dora: bool = False
    rank_pattern: Mapping[str, int] = field(default_factory=dict)
    alpha_pattern: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: Mapping[str, object]) -> LoraOptions:
        return cls(
            r=int(config.get("r") or 8),  # type: ignore[arg-type]
            alpha=float(config.get("lora_alpha") or 8),  # type: ignore[arg-type]
            use_rslora=bool(config.get("use_rslora")),
            use_dora=bool(config.get("use_dora")),
            rank_pattern=dict(config.get("rank_pattern") or {}),  # type: ignore[call-overload]
            alpha_pattern=dict(config.get("alpha_pattern") or {}),  # type: ignore[call-overload]
        )

    def rank_and_scaling(self, path: str) -> tuple[int, float]:
        """PEFT's LoraModel._create_and_replace: pattern values first, then r and lora_alpha."""
        rank = int(pattern_value(self.rank_pattern, path, self.r))
        alpha = float(pattern_value(self.alpha_pattern, path, self.alpha))
        return rank, alpha / math.sqrt(rank) if self.use_rslora else alpha / rank


def pattern_value(pattern: Mapping[str, float], path: str, default: float) -> float:
    """PEFT's get_pattern_key: the first key (a regex) with re.match(rf"(.*\\.)?({key})$", path) wins."""
    for key, value in pattern.items():
        if re.match(rf"(.*\.)?({key})$", path):
            return value
    return default


def lora_slot(path: str, base: nn.Module, group: Mapping[str, torch.Tensor], options: LoraOptions) -> AdapterSlot:
    """Check the module's tensors against the base module and the config, and build its slot."""
    rank, scaling = options.rank_and_scaling(path)
    _check_dora(path, group, options)
    if isinstance(base, nn.Embedding):
        slot: LoraSlot = LoraEmbedding(base, _pair(path, group, "embedding_A", "embedding_B"), scaling)
    elif isinstance(base, nn.Linear) or is_gpt2_conv1d(base):
        slot = LoraLinear(base, _pair(path, group, "A", "B"), scaling, group.get("magnitude"))
    elif isinstance(base, nn.modules.conv._ConvNd):
        slot = LoraConv(base, _pair(path, group, "A", "B"), scaling)
    else:
        raise AdapterLoadError(f"module {path!r} is a {type(base).__name__}, which LoRA cannot adapt")
    _check_shapes(path, slot, base, rank)
    used = len(slot.named_tensors())
    if used != len(group):
        kind = type(base).__name__
        raise AdapterLoadError(f"module {path!r}: LoRA on a {kind} uses {used} of its {len(group)} tensors")
    return slot


def _check_dora(path: str, group: Mapping[str, torch.Tensor], options: LoraOptions) -> None:
    if options.use_dora and "magnitude" not in group:
        raise AdapterLoadError(f"module {path!r}: use_dora is true but the file has no lora_magnitude_vector for it")
    if not options.use_dora and "magnitude" in group:
        raise AdapterLoadError(f"module {path!r}: the file has a lora_magnitude_vector but use_dora is false")


def _pair(path: str, group: Mapping[str, torch.Tensor], a: str, b: str) -> tuple[torch.Tensor, torch.Tensor]:
    if a not in group or b not in group:
        have = ", ".join(sorted(group))
        raise AdapterLoadError(f"module {path!r} needs {a} and {b} tensors for its layer type; the file has {have}")
    return group[a], group[b]


def _check_shapes(path: str, slot: LoraSlot, base: nn.Module, rank: int) -> None:
    expected = slot.expected_shapes(base, rank)
    for label, tensor in slot.named_tensors():
        want = expected[label]
        if tuple(tensor.shape) != want:
            raise AdapterLoadError(
                f"module {path!r} ({type(base).__name__}): {label} has shape {list(tensor.shape)}, "
                f"expected {list(want)} (rank {rank} from the config)"
            )


class LoraSlot(AdapterSlot):
    """Shared by the LoRA slots: scaling, and the tensors to check."""

    scaling: float
    weightable = True

    @property
    def weighted_scaling(self) -> float:
        """alpha/r times the run-time weight: a weighted LoRA is the same LoRA with its delta scaled."""
        return self.scaling * self.weight

    def named_tensors(self) -> list[tuple[str, torch.Tensor]]:
        return [(name, parameter) for name, parameter in self.named_parameters() if parameter is not None]

    def expected_shapes(self, base: nn.Module, rank: int) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError


class LoraLinear(LoraSlot):
    """nn.Linear or GPT-2 Conv1D; DoRA when a magnitude vector is given."""

    def __init__(
        self, base: nn.Module, pair: tuple[torch.Tensor, torch.Tensor], scaling: float, magnitude: torch.Tensor | None
    ) -> None:
        super().__init__()
        self.lora_A = as_parameter(pair[0], base)
        self.lora_B = as_parameter(pair[1], base)
        self.magnitude = None if magnitude is None else as_parameter(magnitude, base)
        self.scaling = scaling
        self.fan_in_fan_out = is_gpt2_conv1d(base)
        self.weightable = magnitude is None  # DoRA renormalises rows: a weight would not scale its effect

    def expected_shapes(self, base: nn.Module, rank: int) -> dict[str, tuple[int, ...]]:
        fan_out, fan_in = _weight_out_in(base, self.fan_in_fan_out)
        return {"lora_A": (rank, fan_in), "lora_B": (fan_out, rank), "magnitude": (fan_out,)}

    def after(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        x = x.to(self.lora_A.dtype)
        lora = F.linear(F.linear(x, self.lora_A), self.lora_B)
        if self.magnitude is None:
            return (result + lora * self.weighted_scaling).to(result.dtype)
        return (result + self._dora(base, x, base_out, lora)).to(result.dtype)

    def _dora(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, lora: torch.Tensor) -> torch.Tensor:
        """PEFT's DoraLinearLayer.forward: rescale rows by magnitude / ||W + s BA|| (norm detached)."""
        weight = _oriented(base.weight.to(x.dtype), self.fan_in_fan_out)
        scale = (self.magnitude / self._weight_norm(weight).detach()).view(1, -1)
        bias = getattr(base, "bias", None)
        plain = base_out - bias if bias is not None else base_out
        return (scale - 1) * plain + scale * lora * self.scaling

    def _weight_norm(self, weight: torch.Tensor) -> torch.Tensor:
        delta = (self.lora_B @ self.lora_A).to(weight.dtype)
        return torch.linalg.norm(weight + self.scaling * delta, dim=1).to(weight.dtype)

    def delta_weight(self) -> torch.Tensor:
        """B A s, laid out as the base weight ([in, out] for Conv1D)."""
        return _oriented(self.lora_B @ self.lora_A, self.fan_in_fan_out) * self.weighted_scaling

    @torch.no_grad()
    def merge_into(self, base: nn.Module) -> None:
        weight = base.weight
        if self.magnitude is None:
            weight.data += self.delta_weight().to(weight.dtype)
            return
        # DoRA: W' = m / ||W + ΔW|| (per output row) * (W + ΔW), the norm taken before merging.
        merged = weight.data.to(self.lora_A.dtype) + self.delta_weight()
        factor = self.magnitude / torch.linalg.norm(_oriented(merged, self.fan_in_fan_out), dim=1)
        weight.data = (_oriented(factor.view(-1, 1), self.fan_in_fan_out) * merged).to(weight.dtype)


class LoraEmbedding(LoraSlot):
    """nn.Embedding: y += (embedding(x, A^T) @ B^T) s, times the base's embed_scale (Gemma) when it has one."""

    def __init__(self, base: nn.Embedding, pair: tuple[torch.Tensor, torch.Tensor], scaling: float) -> None:
        super().__init__()
        self.lora_embedding_A = as_parameter(pair[0], base)
        self.lora_embedding_B = as_parameter(pair[1], base)
        self.scaling = scaling

    def expected_shapes(self, base: nn.Module, rank: int) -> dict[str, tuple[int, ...]]:
        return {"lora_embedding_A": (rank, base.num_embeddings), "lora_embedding_B": (base.embedding_dim, rank)}

    def after(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        after_a = F.embedding(
            x,
            self.lora_embedding_A.T,
            padding_idx=base.padding_idx,
            max_norm=base.max_norm,
            norm_type=base.norm_type,
            scale_grad_by_freq=base.scale_grad_by_freq,
            sparse=base.sparse,
        )
        output = (after_a @ self.lora_embedding_B.T) * self.weighted_scaling
        embed_scale = _embed_scale(base)
        if embed_scale is not None:
            output = output * embed_scale.to(output.dtype)
        return (result + output).to(result.dtype)

    @torch.no_grad()
    def merge_into(self, base: nn.Module) -> None:
        delta = (self.lora_embedding_B @ self.lora_embedding_A).T * self.weighted_scaling
        base.weight.data += delta.to(base.weight.dtype)


class LoraConv(LoraSlot):
    """nn.Conv1d/2d/3d: A is a conv with the base's kernel, stride and padding; B a 1x1 conv (base's groups)."""

    def __init__(self, base: nn.modules.conv._ConvNd, pair: tuple[torch.Tensor, torch.Tensor], scaling: float) -> None:
        super().__init__()
        self.lora_A = as_parameter(pair[0], base)
        self.lora_B = as_parameter(pair[1], base)
        self.scaling = scaling
        self.conv = _CONV_FUNCTIONS[base.weight.dim()]

    def expected_shapes(self, base: nn.Module, rank: int) -> dict[str, tuple[int, ...]]:
        ones = (1,) * (base.weight.dim() - 2)
        return {
            "lora_A": (rank, base.in_channels, *base.kernel_size),
            "lora_B": (base.out_channels, rank // base.groups, *ones),
        }

    def after(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        x = x.to(self.lora_A.dtype)
        # As PEFT builds lora_A: the base's kernel, stride and padding, but default dilation and padding mode.
        hidden = self.conv(x, self.lora_A, stride=base.stride, padding=base.padding)
        lora = self.conv(hidden, self.lora_B, groups=base.groups)
        return (result + lora * self.weighted_scaling).to(result.dtype)

    @torch.no_grad()
    def merge_into(self, base: nn.Module) -> None:
        if base.groups > 1:
            raise AdapterLoadError(f"cannot merge LoRA into a {type(base).__name__} with groups={base.groups}")
        if base.weight.shape[2:4] == (1, 1) and base.weight.dim() == 4:
            delta = (self.lora_B.flatten(1) @ self.lora_A.flatten(1)).view_as(base.weight)
        else:
            delta = self.conv(self.lora_A.transpose(0, 1), self.lora_B).transpose(0, 1)
        base.weight.data += (delta * self.weighted_scaling).to(base.weight.dtype)


def _weight_out_in(base: nn.Module, fan_in_fan_out: bool) -> tuple[int, int]:
    rows, columns = base.weight.shape
    return (columns, rows) if fan_in_fan_out else (rows, columns)


def _oriented(matrix: torch.Tensor, fan_in_fan_out: bool) -> torch.Tensor:
    return matrix.T if fan_in_fan_out else matrix


def _embed_scale(base: nn.Module) -> torch.Tensor | None:
    scale = getattr(base, "embed_scale", None)
    if isinstance(scale, int | float):
        return torch.tensor(scale, device=base.weight.device, dtype=base.weight.dtype)
    if isinstance(scale, torch.Tensor) and scale.numel() == 1:
        return scale
    return None
