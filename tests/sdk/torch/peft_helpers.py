"""Adapters saved by the real peft from tiny models, made non-trivial, and the outputs to compare."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ["HF_HUB_OFFLINE"] = "1"

import peft
import torch
from torch import nn

from tests.sdk.formats.models import tiny_gpt2, tiny_llama

LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
ADAPTER_PREFIXES = ("lora_", "ia3_", "hada_", "lokr_")


def save_adapter(factory: Callable[[], nn.Module], config: Any, folder: Path, *, seed: int = 1) -> Path:
    """get_peft_model + random adapter weights (peft zero-inits lora_B and ones-inits ia3_l) + save_pretrained."""
    model = peft.get_peft_model(factory(), config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if any(part.startswith(ADAPTER_PREFIXES) for part in name.split(".")):
                noise = torch.randn(parameter.shape, generator=generator) * 0.2
                if "ia3_l" in name or "magnitude" in name:
                    parameter.mul_(1 + noise)  # multiplicative vectors stay near their initial scale
                else:
                    parameter.copy_(noise)
            elif "modules_to_save" in name:
                parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.1)
    model.save_pretrained(folder)
    return folder


def inputs(vocab: int = 100, length: int = 9, seed: int = 7) -> torch.Tensor:
    return torch.randint(0, vocab, (2, length), generator=torch.Generator().manual_seed(seed))


def logits(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        output = model(ids)
    return output.logits if hasattr(output, "logits") else output


def peft_logits(factory: Callable[[], nn.Module], folder: Path, ids: torch.Tensor) -> torch.Tensor:
    """The reference: PeftModel.from_pretrained on a fresh base."""
    return logits(peft.PeftModel.from_pretrained(factory().eval(), str(folder)), ids)


def modules_by_path(model: nn.Module) -> dict[str, nn.Module]:
    return dict(model.named_modules())


class TinyVision(nn.Module):
    """An embedding, a 3x3 and a 1x1 convolution and a head: targets for embedding and Conv2d adapters."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.emb = nn.Embedding(50, 16, padding_idx=0)
        self.conv = nn.Conv2d(16, 8, 3, padding=1)
        self.pointwise = nn.Conv2d(8, 8, 1)
        self.head = nn.Linear(8, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        hidden = self.emb(ids).transpose(1, 2).reshape(ids.shape[0], 16, 4, 4)
        hidden = self.pointwise(torch.relu(self.conv(hidden)))
        return self.head(hidden.mean(dim=(2, 3)))


FACTORIES: dict[str, Callable[[], nn.Module]] = {"gpt2": tiny_gpt2, "llama": tiny_llama, "vision": TinyVision}
