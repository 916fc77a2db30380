"""IA3 in plain torch, as PEFT 0.21 does it (peft/tuners/ia3/layer.py).

One learned vector per module: feed-forward modules (``feedforward_modules``) scale their input
(ia3_l [1, in]); the others scale their output, bias included (ia3_l [out, 1]). Convolutions keep the
vector as [1, C, 1, ...] and broadcast it over the channel axis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from sdk.torch.errors import AdapterLoadError
from sdk.torch.layers import AdapterSlot, as_parameter
from sdk.torch.structure import is_gpt2_conv1d

ROLES = {".ia3_l": "ia3_l"}


def is_feedforward(config: Mapping[str, object], path: str) -> bool:
    """PEFT's _check_target_module_feedforward: a regex must match the whole path; list entries are
    plain suffixes (no dot boundary, as PEFT)."""
    entries = config.get("feedforward_modules") or []
    if isinstance(entries, str):
        return re.fullmatch(entries, path) is not None
    return any(path.endswith(entry) for entry in entries)  # type: ignore[union-attr]


def ia3_slot(path: str, base: nn.Module, group: Mapping[str, torch.Tensor], feedforward: bool) -> AdapterSlot:
    """Check the vector's shape against the base module and build the slot."""
    vector = group["ia3_l"]
    if isinstance(base, nn.Linear | nn.modules.conv._ConvNd) or is_gpt2_conv1d(base):
        expected = _expected_shape(base, feedforward)
    else:
        raise AdapterLoadError(f"module {path!r} is a {type(base).__name__}, which IA3 cannot adapt")
    if tuple(vector.shape) != expected:
        role = "feed-forward (scales the input)" if feedforward else "non-feed-forward (scales the output)"
        raise AdapterLoadError(
            f"module {path!r} ({type(base).__name__}, {role}): ia3_l has shape {list(vector.shape)}, "
            f"expected {list(expected)}"
        )
    return IA3Slot(base, vector, feedforward)


def _expected_shape(base: nn.Module, feedforward: bool) -> tuple[int, ...]:
    if isinstance(base, nn.modules.conv._ConvNd):
        channels = base.in_channels if feedforward else base.out_channels
        return (1, channels, *((1,) * (base.weight.dim() - 2)))
    rows, columns = base.weight.shape
    fan_in, fan_out = (rows, columns) if is_gpt2_conv1d(base) else (columns, rows)
    return (1, fan_in) if feedforward else (fan_out, 1)


class IA3Slot(AdapterSlot):
    def __init__(self, base: nn.Module, vector: torch.Tensor, feedforward: bool) -> None:
        super().__init__()
        self.ia3_l = as_parameter(vector, base)
        self.feedforward = feedforward
        self.is_conv = isinstance(base, nn.modules.conv._ConvNd)
        self.fan_in_fan_out = is_gpt2_conv1d(base)

    def _scaling(self) -> torch.Tensor:
        # Linear layers scale the last axis, convolutions the channel axis (dim 1).
        return self.ia3_l if self.is_conv else self.ia3_l.flatten()

    def before(self, base: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if not self.feedforward:
            return x
        target = base.weight.dtype if self.is_conv else x.dtype
        return (x.to(self.ia3_l.dtype) * self._scaling()).to(target)

    def after(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        if self.feedforward:
            return result
        if self.is_conv:
            return (result.to(self.ia3_l.dtype) * self._scaling()).to(x.dtype)
        return (result * self._scaling()).to(result.dtype)

    @torch.no_grad()
    def merge_into(self, base: nn.Module) -> None:
        weight = base.weight
        weight.data = (weight.data * self._weight_scaling(base)).to(weight.dtype)
        bias = getattr(base, "bias", None)
        if not self.feedforward and bias is not None:
            bias.data = (bias.data * self.ia3_l.reshape(bias.shape)).to(bias.dtype)

    def _weight_scaling(self, base: nn.Module) -> torch.Tensor:
        """The vector laid out to multiply the base weight, as PEFT's merge does."""
        if not self.is_conv:
            return self.ia3_l.T if self.fan_in_fan_out else self.ia3_l
        if not self.feedforward:
            return self.ia3_l.transpose(0, 1)
        if base.groups == 1:
            return self.ia3_l
        groups, per_in = base.groups, base.in_channels // base.groups
        scaling = self.ia3_l.reshape(groups, 1, per_in, *self.ia3_l.shape[2:])
        scaling = scaling.expand(groups, base.out_channels // groups, per_in, *self.ia3_l.shape[2:])
        return scaling.reshape(base.out_channels, per_in, *self.ia3_l.shape[2:])
