"""Tiny Llama bases and real PEFT adapters for the serving tests (torch, transformers and peft: the main venv)."""

from __future__ import annotations

from pathlib import Path

import torch

from tests.sdk.formats.models import transformers

VOCAB = 128


def llama_config(hidden: int = 64, layers: int = 2) -> transformers.LlamaConfig:
    return transformers.LlamaConfig(
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=2 * hidden,
        vocab_size=VOCAB,
        max_position_embeddings=64,
        tie_word_embeddings=False,
    )


def save_base(folder: Path, hidden: int = 64, layers: int = 2) -> Path:
    """A LlamaForCausalLM with random weights (seeded), saved as config.json + model.safetensors."""
    torch.manual_seed(hidden * 10 + layers)
    transformers.LlamaForCausalLM(llama_config(hidden, layers)).save_pretrained(folder)
    return folder


def load_base(folder: Path) -> torch.nn.Module:
    return transformers.LlamaForCausalLM.from_pretrained(folder).eval()


def save_adapter(base_folder: Path, folder: Path, *, method: str = "lora", seed: int = 1) -> Path:
    """A real PEFT adapter on the base, with random (not identity) weights so that its effect shows."""
    import peft

    torch.manual_seed(seed)
    if method == "lora":
        config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    else:
        config = peft.IA3Config(target_modules=["k_proj", "down_proj"], feedforward_modules=["down_proj"])
    model = peft.get_peft_model(load_base(base_folder), config)
    model.save_pretrained(folder)
    return folder


def logits(model: torch.nn.Module) -> torch.Tensor:
    ids = torch.randint(0, VOCAB, (2, 9), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        return model(input_ids=ids).logits


def peft_logits(base_folder: Path, adapter_folder: Path) -> torch.Tensor:
    import peft

    return logits(peft.PeftModel.from_pretrained(load_base(base_folder), str(adapter_folder)).eval())
