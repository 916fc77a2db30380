"""What PEFT itself computes for several adapters: run together (with scales) and add_weighted_adapter."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import peft
import torch
from peft.tuners.lora import LoraLayer

from tests.sdk.torch.peft_helpers import FACTORIES, logits


def peft_model(kind: str, folders: Sequence[Path]) -> peft.PeftModel:
    """A fresh base with the two adapters loaded by peft as "a" and "b"."""
    model = peft.PeftModel.from_pretrained(FACTORIES[kind]().eval(), str(folders[0]), adapter_name="a")
    model.load_adapter(str(folders[1]), adapter_name="b")
    return model


def peft_weighted_run(kind: str, folders: Sequence[Path], weights: Sequence[float], ids: torch.Tensor) -> torch.Tensor:
    """PEFT running both adapters at once, each scaled by its weight."""
    model = peft_model(kind, folders)
    model.base_model.set_adapter(["a", "b"])
    for module in model.modules():
        if isinstance(module, LoraLayer):
            for name, weight in zip(["a", "b"], weights, strict=True):
                if name in module.scaling:
                    module.set_scale(name, weight)
    return logits(model, ids)


def peft_merged(
    kind: str, folders: Sequence[Path], weights: Sequence[float], method: str, ids: torch.Tensor, **options: object
) -> torch.Tensor:
    """PEFT's add_weighted_adapter(["a", "b"], weights, combination_type=method) as the active adapter."""
    model = peft_model(kind, folders)
    model.add_weighted_adapter(["a", "b"], list(weights), "merged", combination_type=method, **options)
    model.set_adapter("merged")
    return logits(model, ids)
