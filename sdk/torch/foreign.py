"""What the loaders of AdapterHub `adapters` (sdk/torch/adapters_lib.py) and OpenDelta (sdk/torch/opendelta_lib.py)
folders share: reading their JSON leniently, and mapping their saved module paths onto the model's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from sdk.formats import choose_rename
from sdk.torch._walk import unwrap_root

__all__ = ["model_renaming", "read_json", "scaled"]


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None


def model_renaming(model: nn.Module, paths: list[str]) -> Callable[[str], str]:
    """How the saved module paths map onto this model's (a head model's "bert." prefix added or dropped)."""
    return choose_rename(paths, [name for name, _ in unwrap_root(model).named_modules()])


def scaled(tensor: torch.Tensor, factor: float) -> torch.Tensor:
    """`tensor` * factor, kept in its dtype (a factor of 1 returns it unchanged)."""
    return tensor if factor == 1 else (tensor * factor).to(tensor.dtype)
