"""The wrapper that stands in for an adapted module, holding any number of named adapters.

A wrapper keeps the original module as ``base_layer`` (so unloading puts back the very same object) and
each adapter as a slot in ``adapters``. A slot may rewrite the input before the base module runs (IA3
on feed-forward layers) and the output after it (LoRA, DoRA, IA3 elsewhere); ``active`` lists the slots
applied, in order, so several adapters can be switched or combined on one module. A slot's ``weight``
scales its contribution at run time (sdk/torch/active.py); only slots whose effect is linear in their
weights (plain LoRA) accept a weight other than 1.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

ADAPTER_DTYPES_UPCAST = (torch.float16, torch.bfloat16)


class AdapterSlot(nn.Module):
    """One adapter's weights on one module."""

    weight: float = 1.0
    # True where `weight` scales the slot's delta exactly (plain LoRA); IA3 and DoRA rescale, so a weight has no
    # exact meaning there and only 1 is accepted.
    weightable: bool = False

    def set_weight(self, weight: float) -> None:
        """Scale this adapter's contribution; ValueError for a slot whose effect is not a weighted delta."""
        if weight != 1.0 and not self.weightable:
            raise ValueError(f"a {type(self).__name__} cannot be weighted (only plain LoRA can); use weight 1")
        self.weight = float(weight)

    def before(self, base: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """The input the base module should see."""
        return x

    def after(self, base: nn.Module, x: torch.Tensor, base_out: torch.Tensor, result: torch.Tensor) -> torch.Tensor:
        """The output so far (`result`), updated; `x` is the wrapper's input, `base_out` the base's output."""
        return result

    def merge_into(self, base: nn.Module) -> None:
        """Fold this adapter into the base module's weights."""
        raise NotImplementedError


class AdapterWrapper(nn.Module):
    """Replaces a module of the model; behaves as the base module plus its active adapters."""

    def __init__(self, base_layer: nn.Module) -> None:
        super().__init__()
        self.base_layer = base_layer
        self.adapters = nn.ModuleDict()
        self.active: list[str] = []

    def add(self, name: str, slot: AdapterSlot) -> None:
        self.adapters[name] = slot
        self.active.append(name)

    def remove(self, name: str) -> AdapterSlot:
        self.set_active(name, False)
        slot = self.adapters[name]
        del self.adapters[name]
        return slot

    def activate(self, names: list[str]) -> None:
        """Make exactly these of its adapters active, in this order (names it does not hold are skipped)."""
        self.active = [name for name in names if name in self.adapters]

    def set_active(self, name: str, active: bool) -> None:
        if active and name not in self.active:
            self.active.append(name)
        elif not active and name in self.active:
            self.active.remove(name)

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if not self.active:
            return self.base_layer(x, *args, **kwargs)
        slots = [self.adapters[name] for name in self.active]
        inner = x
        for slot in slots:
            inner = slot.before(self.base_layer, inner)
        base_out = self.base_layer(inner, *args, **kwargs)
        result = base_out
        for slot in slots:
            result = slot.after(self.base_layer, x, base_out, result)
        return result

    def __getattr__(self, name: str) -> Any:
        # Model code reads attributes of the module it built (lm_head.weight, embed_tokens.padding_idx...).
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name in ("base_layer", "adapters"):
                raise
            return getattr(self.base_layer, name)


def adapter_dtype(base: nn.Module) -> torch.dtype | None:
    """PEFT's choice: the base weight's float dtype, but float32 for fp16/bf16 bases (autocast_adapter_dtype)."""
    weight = getattr(base, "weight", None)
    if not isinstance(weight, torch.Tensor) or not weight.dtype.is_floating_point:
        return None
    return torch.float32 if weight.dtype in ADAPTER_DTYPES_UPCAST else weight.dtype


def as_parameter(tensor: torch.Tensor, base: nn.Module) -> nn.Parameter:
    """A copy of a checkpoint tensor on the base module's device, in the adapter dtype; frozen (inference)."""
    weight = getattr(base, "weight", None)
    device = weight.device if isinstance(weight, torch.Tensor) else tensor.device
    dtype = adapter_dtype(base) or tensor.dtype
    return nn.Parameter(tensor.detach().to(device=device, dtype=dtype, copy=True), requires_grad=False)
