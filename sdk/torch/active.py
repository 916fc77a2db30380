"""Several adapters in one model: choose which are active, in which order, and weight LoRA adapters.

Adapters pulled side by side (``hub.pull(name, into=model, adapter_name="x")`` twice) each live in every
module they adapt; a weighted combination scales each LoRA delta by its weight and adds them up:
``y = base(x) + sum_i w_i * s_i * B_i A_i x``. That is exactly what a ``cat`` merge of the same adapters
with the same weights computes (sdk/torch/merge.py), without building a new adapter.

    from sdk.torch.active import set_active
    set_active(model, ["code", "french"], weights=[0.7, 0.3])
    set_active(model, ["code"])            # only "code", at weight 1
    model.hub_adapters["french"].enable()  # per adapter: handles still enable, disable, unload, merge

A handle's merge() folds the adapter in with its current weight, so what runs is what gets merged.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from sdk.torch.handle import AdapterHandle, registry
from sdk.torch.layers import AdapterWrapper

__all__ = ["active_adapters", "set_active", "set_weight"]


def set_active(model: nn.Module, names: Sequence[str], weights: Sequence[float] | None = None) -> None:
    """Make exactly `names` active, applied in that order, each with its weight; disable the others.

    Args:
        model: a model holding adapters (``model.hub_adapters``), as left by ``hub.pull`` or ``inject_adapter``.
        names: the adapters to run; an empty list runs the base model alone.
        weights: one number per name (default 1.0 each); a LoRA delta is multiplied by its weight. Weights may
            be negative (subtract an adapter) or above 1.

    Raises:
        KeyError: a name the model does not hold (nothing is changed).
        ValueError: a repeated name, a weights list of another length, or a weight other than 1 for an adapter
            that is not plain LoRA (IA3, DoRA, or loaded through peft); nothing is changed.
    """
    chosen = _handles(model, names)
    values = [1.0] * len(names) if weights is None else [float(weight) for weight in weights]
    if len(values) != len(names):
        raise ValueError(f"{len(names)} adapters but {len(values)} weights were given")
    for handle, weight in zip(chosen, values, strict=True):
        _check_weightable(handle, weight)
    for handle in registry(model).values():
        if handle not in chosen and handle.state == "enabled":
            handle.disable()
    for handle, weight in zip(chosen, values, strict=True):
        if handle.state != "enabled":
            handle.enable()
        _apply_weight(handle, weight)
    for wrapper in _native_wrappers(model):
        wrapper.activate(list(names))
    _reorder_registry(model, names)


def set_weight(model: nn.Module, name: str, weight: float) -> None:
    """Change one adapter's weight, leaving which adapters are active as it is.

    Args:
        model: a model holding adapters.
        name: the adapter to weight.
        weight: its new weight (1.0 restores the adapter as trained).

    Raises:
        KeyError: no adapter by that name. ValueError: the adapter cannot be weighted (not plain LoRA).
    """
    handle = _handles(model, [name])[0]
    _check_weightable(handle, float(weight))
    _apply_weight(handle, float(weight))


def active_adapters(model: nn.Module) -> dict[str, float]:
    """The enabled adapters and their weights, in the order set_active gave (then in loading order).

    Args:
        model: a model holding adapters.

    Returns:
        {name: weight}; adapters loaded through peft report weight 1.0.
    """
    return {name: _weight_of(handle) for name, handle in registry(model).items() if handle.state == "enabled"}


def _handles(model: nn.Module, names: Sequence[str]) -> list[AdapterHandle]:
    held = registry(model)
    unknown = [name for name in names if name not in held]
    if unknown:
        have = ", ".join(sorted(held)) or "none"
        raise KeyError(f"the model holds no adapter named {', '.join(map(repr, unknown))} (it holds: {have})")
    if len(set(names)) != len(names):
        raise ValueError(f"an adapter is named twice in {list(names)}")
    return [held[name] for name in names]


def _slots(handle: AdapterHandle) -> list[nn.Module]:
    return [
        wrapper.adapters[handle.adapter_name]
        for wrapper in handle._placements.values()
        if isinstance(wrapper, AdapterWrapper) and handle.adapter_name in wrapper.adapters
    ]


def _is_native(handle: AdapterHandle) -> bool:
    return all(isinstance(wrapper, AdapterWrapper) for wrapper in handle._placements.values())


def _check_weightable(handle: AdapterHandle, weight: float) -> None:
    if weight == 1.0:
        return
    if not _is_native(handle) or not all(getattr(slot, "weightable", False) for slot in _slots(handle)):
        raise ValueError(
            f"adapter {handle.adapter_name!r} ({handle.method} from {handle.source}) cannot be weighted: only plain "
            f"LoRA loaded natively scales linearly with a weight; give it weight 1"
        )


def _apply_weight(handle: AdapterHandle, weight: float) -> None:
    for slot in _slots(handle):
        slot.set_weight(weight)  # type: ignore[operator]


def _weight_of(handle: AdapterHandle) -> float:
    slots = _slots(handle)
    return float(getattr(slots[0], "weight", 1.0)) if slots else 1.0


def _native_wrappers(model: nn.Module) -> list[AdapterWrapper]:
    seen: dict[int, AdapterWrapper] = {}
    for handle in registry(model).values():
        for wrapper in handle._placements.values():
            if isinstance(wrapper, AdapterWrapper):
                seen.setdefault(id(wrapper), wrapper)
    return list(seen.values())


def _reorder_registry(model: nn.Module, names: Sequence[str]) -> None:
    """The chosen adapters first, in their order, so the registry lists adapters as they are applied."""
    held = registry(model)
    ordered = {name: held[name] for name in names} | held
    held.clear()
    held.update(ordered)
