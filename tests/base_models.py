"""A tiny Llama built from its config with random weights (shaped as tests/helpers.py TINY_LLAMA), saved by
transformers once as one model.safetensors and once sharded, for the registered-base tests. Nothing is downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TINY_LLAMA_CONFIG = dict(vocab_size=128, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
SHARD_SIZE = "60KB"  # the model's ~210 KB of float32 weights then spread over 4 shards


def tiny_llama() -> Any:
    import torch
    import transformers

    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**TINY_LLAMA_CONFIG))


def saved_folders(model: Any, root: Path) -> tuple[Path, Path]:
    """(single-file folder, sharded folder), both with config.json and generation_config.json."""
    single, sharded = root / "single", root / "sharded"
    model.save_pretrained(single)
    model.save_pretrained(sharded, max_shard_size=SHARD_SIZE)
    return single, sharded


# By hand: embed_tokens and lm_head 128 x 64 each; per layer q, o 64 x 64, k, v 64 x 32, gate, up, down 64 x 128,
# two norms of 64; the final norm 64. float32: 4 bytes each.
TINY_LLAMA_PARAMETERS = 2 * 128 * 64 + 2 * (2 * 64 * 64 + 2 * 64 * 32 + 3 * 64 * 128 + 2 * 64) + 64
