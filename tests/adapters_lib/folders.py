"""Hand-built `adapters` and OpenDelta folders, as the libraries write them (no torch, no library needed).

The `adapters` configs are those adapters 1.3.0 saved for a tiny BERT (docs/adapter-formats.md 2.1, and the
real-library run in test_adapters_library.py checks the same facts). OpenDelta cannot be installed beside
current transformers (0.3.2 imports transformers.deepspeed), so its folders follow its source: config.json as
BaseDeltaConfig.to_json_file(use_diff=True) writes it and the keys of the backbone's trainable parameters.
"""

from __future__ import annotations

import json
from typing import Any

from tests.sdk.formats.builders import Spec, file_of

_BOTTLENECK = {
    "adapter_residual_before_ln": False,
    "cross_adapter": False,
    "dropout": 0.0,
    "factorized_phm_W": True,
    "factorized_phm_rule": False,
    "hypercomplex_nonlinearity": "glorot-uniform",
    "init_weights": "bert",
    "init_weights_seed": None,
    "inv_adapter": None,
    "inv_adapter_reduction_factor": None,
    "is_parallel": False,
    "learn_phm": True,
    "leave_out": [],
    "ln_after": False,
    "ln_before": False,
    "mh_adapter": False,
    "non_linearity": "relu",
    "original_ln_after": True,
    "original_ln_before": True,
    "output_adapter": True,
    "phm_bias": True,
    "phm_c_init": "normal",
    "phm_dim": 4,
    "phm_init_range": 0.0001,
    "phm_layer": False,
    "phm_rank": 1,
    "reduction_factor": 16,
    "residual_before_ln": True,
    "scaling": 1.0,
    "shared_W_phm": False,
    "shared_phm_rule": True,
    "stochastic_depth": 0.0,
    "use_gating": False,
}
_LORA = {
    "alpha": 8,
    "architecture": "lora",
    "attn_matrices": ["q", "v"],
    "composition_mode": "add",
    "dropout": 0.0,
    "dtype": None,
    "init_weights": "lora",
    "init_weights_seed": None,
    "intermediate_lora": False,
    "leave_out": [],
    "output_lora": False,
    "r": 8,
    "selfattn_lora": True,
    "use_dora": False,
    "use_gating": False,
    "vera_b": None,
    "vera_d": None,
}
CONFIGS: dict[str, dict[str, Any]] = {
    "seq_bn": _BOTTLENECK,
    "double_seq_bn": {**_BOTTLENECK, "mh_adapter": True, "non_linearity": "swish", "original_ln_before": False},
    "lora": _LORA,
    "ia3": {
        **_LORA,
        "alpha": 1,
        "attn_matrices": ["k", "v"],
        "composition_mode": "scale",
        "init_weights": "ia3",
        "intermediate_lora": True,
        "r": 1,
    },
    "prompt_tuning": {
        "architecture": "prompt_tuning",
        "combine": "prefix",
        "init_weights_seed": None,
        "prompt_init": "random_uniform",
        "prompt_init_text": None,
        "prompt_length": 10,
    },
}


def adapters_config(method: str, *, name: str = "ad", hidden: int = 64, **overrides: Any) -> dict[str, Any]:
    """adapter_config.json as adapters 1.3.0 writes it for a BertModel named tiny/bert-test."""
    document = {
        "config": dict(CONFIGS[method]),
        "hidden_size": hidden,
        "model_class": "BertModel",
        "model_name": "tiny/bert-test",
        "model_type": "bert",
        "name": name,
        "version": "adapters.1.3.0",
    }
    config_overrides = overrides.pop("config", {})
    document["config"].update(config_overrides)
    return document | overrides


def adapters_spec(method: str, *, name: str = "ad", hidden: int = 64, layers: int = 2, prefix: str = "") -> Spec:
    """The tensors adapters saves (names and shapes; dtype F32) for `method` on a BERT of `hidden`."""
    spec: dict[str, tuple[str, list[int]]] = {}
    for index in range(layers):
        layer = f"{prefix}encoder.layer.{index}"
        if method in ("seq_bn", "double_seq_bn"):
            places = ["attention.output", "output"] if method == "double_seq_bn" else ["output"]
            for place in places:
                spec |= _bottleneck(f"{layer}.{place}.adapters.{name}", hidden, hidden // 16)
        elif method == "lora":
            for module in ("query", "value"):
                spec[f"{layer}.attention.self.{module}.loras.{name}.lora_A"] = ("F32", [8, hidden])
                spec[f"{layer}.attention.self.{module}.loras.{name}.lora_B"] = ("F32", [hidden, 8])
        elif method == "ia3":
            for module, size in (
                ("attention.self.key", hidden),
                ("attention.self.value", hidden),
                ("intermediate.dense", 2 * hidden),
            ):
                spec[f"{layer}.{module}.loras.{name}.lora_B"] = ("F32", [size, 1])
    if method == "prompt_tuning":
        spec[f"{prefix}prompt_tuning.prompt_tunings.{name}.prompt_embedding.weight"] = ("F32", [10, hidden])
    return spec


def _bottleneck(location: str, hidden: int, bottleneck: int) -> dict[str, tuple[str, list[int]]]:
    return {
        f"{location}.adapter_down.0.weight": ("F32", [bottleneck, hidden]),
        f"{location}.adapter_down.0.bias": ("F32", [bottleneck]),
        f"{location}.adapter_up.weight": ("F32", [hidden, bottleneck]),
        f"{location}.adapter_up.bias": ("F32", [hidden]),
    }


def adapters_files(method: str, *, hidden: int = 64, **config: Any) -> dict[str, bytes]:
    """A whole folder: adapter_config.json + adapter.safetensors (zero weights)."""
    return {
        "adapter_config.json": json.dumps(adapters_config(method, hidden=hidden, **config), indent=2).encode(),
        "adapter.safetensors": file_of(adapters_spec(method, hidden=hidden)),
    }


def opendelta_config(**overrides: Any) -> dict[str, Any]:
    """config.json of a LoRA delta (lora_r 4, lora_alpha 8) on a BertForSequenceClassification."""
    return {
        "backbone_checkpoint_name": "tiny-bert",
        "backbone_class": "BertForSequenceClassification",
        "backbone_hash": "3f1c0f0c5d3c1a9fb1d2e0c4a7b6d5e4",
        "delta_type": "lora",
        "lora_alpha": 8,
        "lora_r": 4,
        "modified_modules": ["query", "value"],
        "opendelta_version": "0.3.2",
        "transformers_version": "4.22.2",
    } | overrides


def opendelta_spec(hidden: int = 64, rank: int = 4, layers: int = 2, prefix: str = "bert.") -> Spec:
    """The LoRA delta keys: <module>.lora.lora_A [r, in] and <module>.lora.lora_B [out, r]."""
    spec: dict[str, tuple[str, list[int]]] = {}
    for index in range(layers):
        for module in ("query", "value"):
            path = f"{prefix}encoder.layer.{index}.attention.self.{module}.lora"
            spec[f"{path}.lora_A"] = ("F32", [rank, hidden])
            spec[f"{path}.lora_B"] = ("F32", [hidden, rank])
    return spec
