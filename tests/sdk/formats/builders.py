"""Hand-built safetensors files and PEFT configs for the format tests (no torch needed)."""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence

from sdk.formats.safetensors import DTYPE_BITS, SafetensorsHeader, parse_header, write_safetensors

PREFIX = "base_model.model."
Spec = Mapping[str, tuple[str, Sequence[int]]]


def zeros(dtype: str, shape: Sequence[int]) -> bytes:
    """Zero bytes for a tensor of `dtype` and `shape`."""
    numel = 1
    for dim in shape:
        numel *= dim
    return bytes(numel * DTYPE_BITS[dtype] // 8)


def file_of(spec: Spec, metadata: Mapping[str, str] | None = None) -> bytes:
    """A safetensors file of zero-filled tensors: {name: (dtype, shape)}."""
    return write_safetensors(
        {name: (dtype, shape, zeros(dtype, shape)) for name, (dtype, shape) in spec.items()}, metadata
    )


def header_of(spec: Spec) -> SafetensorsHeader:
    """The parsed header of `file_of(spec)`."""
    return parse_file(file_of(spec))


def parse_file(data: bytes) -> SafetensorsHeader:
    """Split a whole file into its header bytes and parse them."""
    (length,) = struct.unpack("<Q", data[:8])
    return parse_header(data[8 : 8 + length], len(data))


def raw_file(header: object, data: bytes = b"", *, pad: bool = True) -> bytes:
    """A file with an arbitrary header (a JSON-able object or raw bytes) and data section."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def entry(dtype: str, shape: Sequence[int], start: int, end: int) -> dict[str, object]:
    """One header entry."""
    return {"dtype": dtype, "shape": list(shape), "data_offsets": [start, end]}


def lora_spec(modules: Mapping[str, tuple[int, int, int]], dtype: str = "F32") -> dict[str, tuple[str, list[int]]]:
    """LoRA Linear tensors for {module path: (in, out, r)}, keyed as PEFT saves them."""
    spec: dict[str, tuple[str, list[int]]] = {}
    for path, (fan_in, fan_out, rank) in modules.items():
        spec[f"{PREFIX}{path}.lora_A.weight"] = (dtype, [rank, fan_in])
        spec[f"{PREFIX}{path}.lora_B.weight"] = (dtype, [fan_out, rank])
    return spec


def llama_lora_spec(layers: int = 2, rank: int = 4, targets: Sequence[str] = ("q_proj", "v_proj")) -> dict:
    """LoRA tensors for the doc's tiny Llama (hidden 64, 2 KV heads so k/v_proj have out=32)."""
    sizes = {"q_proj": (64, 64), "k_proj": (64, 32), "v_proj": (64, 32), "o_proj": (64, 64)}
    sizes |= {"gate_proj": (64, 128), "up_proj": (64, 128), "down_proj": (128, 64)}
    modules = {}
    for layer in range(layers):
        for target in targets:
            block = "mlp" if target.endswith(("gate_proj", "up_proj", "down_proj")) else "self_attn"
            modules[f"model.layers.{layer}.{block}.{target}"] = (*sizes[target], rank)
    return lora_spec(modules)


def lora_config(**overrides: object) -> dict[str, object]:
    """A LoRA adapter_config.json as PEFT 0.21 writes it (the fields that matter here)."""
    config: dict[str, object] = {
        "peft_type": "LORA",
        "peft_version": "0.21.2",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": "tiny/llama-test",
        "revision": None,
        "r": 4,
        "lora_alpha": 8,
        "target_modules": ["q_proj", "v_proj"],
        "exclude_modules": None,
        "bias": "none",
        "modules_to_save": None,
        "rank_pattern": {},
        "alpha_pattern": {},
        "use_rslora": False,
        "use_dora": False,
        "fan_in_fan_out": False,
        "lora_bias": False,
    }
    config.update(overrides)
    return config
