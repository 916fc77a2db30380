"""How light an adapter is: its trainable parameters as a share of the weights of the modules it adapts.

The hub never sees the whole base model, so a share of *all* its parameters is not known; the share of the
weights the adapter modifies is, from the version's facts (each adapted module's in and out features).
"""

from __future__ import annotations

from typing import Any


def adapted_share(trainable: int, modules: dict[str, dict[str, Any]]) -> float | None:
    """trainable / (sum of in x out over the adapted modules); None when a module's size is unknown."""
    weights = [(info.get("in_features"), info.get("out_features")) for info in modules.values()]
    if not weights or any(not isinstance(a, int) or not isinstance(b, int) for a, b in weights):
        return None
    total = sum(a * b for a, b in weights)
    return trainable / total if total else None
