"""A structural fingerprint of a base model: the same architecture and sizes give the same digest.

Adapter parameters are left out and PEFT's wrapper paths normalised, so a model hashes the same before
and after injection; dtype is left out too (loading in fp16 does not change the architecture) and
reported apart by parameter_dtype.
"""

from __future__ import annotations

from collections import Counter

from torch import nn

from sdk.formats.fingerprint import shapes_fingerprint
from sdk.torch._walk import walk_base


def base_parameters(model: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Sorted (parameter name, shape) of the base model, names as in the model before injection."""
    pairs = []
    for path, module in walk_base(model):
        for name, parameter in module._parameters.items():
            if parameter is not None:
                pairs.append((f"{path}.{name}" if path else name, tuple(parameter.shape)))
    return sorted(pairs)


def base_fingerprint(model: nn.Module) -> str:
    """sha256 hex over the sorted (name, shape) pairs of the base parameters."""
    return shapes_fingerprint(base_parameters(model))


def parameter_dtype(model: nn.Module) -> str:
    """The dtype most base parameters have (e.g. "float16"); "unknown" for a model without parameters."""
    counts: Counter[str] = Counter()
    for _, module in walk_base(model):
        for parameter in module._parameters.values():
            if parameter is not None:
                counts[str(parameter.dtype).removeprefix("torch.")] += parameter.numel()
    return counts.most_common(1)[0][0] if counts else "unknown"
