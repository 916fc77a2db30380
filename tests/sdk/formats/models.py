"""Tiny random transformers models built from configs only (no downloads), shared by torch tests."""

from __future__ import annotations

import os
from typing import Any

# Set before transformers is imported: these models never touch the network.
os.environ["HF_HUB_OFFLINE"] = "1"

import torch
import transformers


def tiny_gpt2() -> Any:
    """GPT-2 with 2 layers, width 32 (its attention c_attn is a Conv1D of [32, 96])."""
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=64)
    return transformers.GPT2LMHeadModel(config)


def tiny_llama(**overrides: Any) -> Any:
    """Llama with hidden 64, 2 layers, 4 heads and 2 KV heads (so k_proj/v_proj have out=32)."""
    torch.manual_seed(0)
    settings: dict[str, Any] = {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": 100,
    }
    settings.update(overrides)
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**settings))
