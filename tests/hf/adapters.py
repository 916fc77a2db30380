"""Real PEFT adapters (made by `peft` itself on a tiny random Llama) and their base model, as files."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.sdk.formats.models import tiny_llama

TARGETS = ["q_proj", "v_proj"]


def lora_folder(folder: Path, seed: int) -> Path:
    """A LoRA saved by peft's save_pretrained, with random non-zero weights (peft starts lora_B at zero,
    which would make every adapter a no-op and every comparison vacuous)."""
    import peft

    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = peft.get_peft_model(tiny_llama(), config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    model.save_pretrained(folder)
    return folder


def folder_files(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def base_folder(folder: Path) -> Path:
    """The tiny base saved like a Hub model, so a fresh process loads the very same weights from disk."""
    tiny_llama().save_pretrained(folder)
    return folder
