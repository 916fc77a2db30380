"""How light an adapter is: its trainable parameters as a share of the weights of the modules it adapts, and,
when its base is registered (hub/registry/catalog/registered.py), of the whole base.

Without a registration the hub never sees the whole base model, so only the share of the weights the adapter
modifies is known, from the version's facts (each adapted module's in and out features).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.registry.models import RegisteredBase

NOT_REGISTERED = "base not registered"
BYTE_UNITS = ("B", "KB", "MB", "GB", "TB")
COUNT_UNITS = ("", "k", "M", "B", "T")


def adapted_share(trainable: int, modules: dict[str, dict[str, Any]]) -> float | None:
    """trainable / (sum of in x out over the adapted modules); None when a module's size is unknown."""
    weights = [(info.get("in_features"), info.get("out_features")) for info in modules.values()]
    if not weights or any(not isinstance(a, int) or not isinstance(b, int) for a, b in weights):
        return None
    total = sum(a * b for a, b in weights)
    return trainable / total if total else None


def share_of_base(trainable: int, adapter_bytes: int, base: RegisteredBase | None) -> dict[str, Any]:
    """The adapter beside its registered base: trainable parameters as a share of the base's total, and
    its size on disk beside the base's weights. One answer for the API and the page."""
    if base is None:
        return {"registered": False, "text": NOT_REGISTERED}
    share = trainable / base.total_parameters
    text = (
        f"{100 * share:.2g}% of {count_text(base.total_parameters)} parameters; "
        f"{bytes_text(adapter_bytes)} vs {bytes_text(base.total_bytes)}"
    )
    return {
        "registered": True,
        "model_id": base.model_id,
        "revision": base.revision,
        "share": share,
        "base_parameters": base.total_parameters,
        "base_bytes": base.total_bytes,
        "text": text,
    }


def bytes_text(size: int) -> str:
    """4200000 -> "4.2 MB" (decimal units, as disk sizes are sold; the web pages use it too)."""
    return _scaled(size, BYTE_UNITS, lambda whole: f"{whole} B")


def count_text(count: int) -> str:
    """1100048384 -> "1.1 B"; below a thousand, the count itself."""
    return _scaled(count, COUNT_UNITS, str)


def _scaled(value: int, units: tuple[str, ...], small: Callable[[int], str]) -> str:
    scaled, unit = float(value), 0
    while scaled >= 1000 and unit < len(units) - 1:
        scaled, unit = scaled / 1000, unit + 1
    return small(value) if unit == 0 else f"{scaled:.1f} {units[unit]}"
