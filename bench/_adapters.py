"""Real PEFT-format adapter folders of a chosen size, for the transfer and memory benchmarks.

A LoRA on q_proj and v_proj of a Llama-2-7B-shaped base (32 layers, hidden 4096) in float32 weighs
rank x 2 MiB, so the size picks the rank: 64 MB is r=32, 256 MB r=128, 1 GB r=512.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

from sdk.formats.safetensors import write_safetensors

MIB = 1 << 20
LAYERS, HIDDEN = 32, 4096
TARGETS = ("q_proj", "v_proj")
BASE_MODEL = "meta-llama/Llama-2-7b-hf"
CONFIG_NAME = "adapter_config.json"
WEIGHTS_NAME = "adapter_model.safetensors"


def rank_for(size_mb: int) -> int:
    bytes_per_rank = LAYERS * len(TARGETS) * 2 * HIDDEN * 4  # A and B, float32
    return max(1, size_mb * MIB // bytes_per_rank)


def lora_config(rank: int) -> dict[str, object]:
    return {
        "base_model_name_or_path": BASE_MODEL,
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "r": rank,
        "lora_alpha": 2 * rank,
        "lora_dropout": 0.0,
        "bias": "none",
        "target_modules": list(TARGETS),
        "fan_in_fan_out": False,
        "inference_mode": True,
        "use_rslora": False,
        "use_dora": False,
        "modules_to_save": None,
    }


def write_adapter(folder: Path, size_mb: int, seed: int = 0) -> Path:
    """adapter_config.json + adapter_model.safetensors of about size_mb MiB (random weights)."""
    rank = rank_for(size_mb)
    rng = np.random.default_rng(seed)
    tensors: dict[str, tuple[str, list[int], bytes]] = {}
    for layer in range(LAYERS):
        for target in TARGETS:
            prefix = f"base_model.model.model.layers.{layer}.self_attn.{target}"
            for part, shape in (("lora_A", [rank, HIDDEN]), ("lora_B", [HIDDEN, rank])):
                data = (rng.standard_normal(shape[0] * shape[1], dtype=np.float32) * 0.01).tobytes()
                tensors[f"{prefix}.{part}.weight"] = ("F32", shape, data)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_NAME).write_text(json.dumps(lora_config(rank), indent=2))
    (folder / WEIGHTS_NAME).write_bytes(write_safetensors(tensors, {"format": "pt"}))
    return folder


def vary(folder: Path, sample: int) -> None:
    """Change the first weight in place, so each sample publishes bytes the hub has never seen."""
    path = folder / WEIGHTS_NAME
    with path.open("r+b") as stream:
        (header_length,) = struct.unpack("<Q", stream.read(8))
        stream.seek(8 + header_length)
        stream.write(struct.pack("<f", 1e-3 * (sample + 1)))
