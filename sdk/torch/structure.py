"""The module structure of a torch model, for the compatibility check (sdk/formats/compat.py)."""

from __future__ import annotations

from torch import nn

from sdk.formats.compat import ModelStructure, ModuleShape
from sdk.torch._walk import unwrap_root, walk_base
from sdk.torch.fingerprint import base_fingerprint


def model_structure(model: nn.Module) -> ModelStructure:
    """Base module paths and sizes (PEFT wrappers unwrapped), model type, layer count and fingerprint.

    Works on meta-device models: only shapes are read.
    """
    modules = {}
    for path, module in walk_base(model):
        shape = module_shape(module)
        if shape is not None and path:
            modules[path] = shape
    config = getattr(unwrap_root(model), "config", None)
    return ModelStructure(
        modules=modules,
        model_type=getattr(config, "model_type", None) or None,
        fingerprint=base_fingerprint(model),
        num_layers=_num_layers(config),
    )


def module_shape(module: nn.Module) -> ModuleShape | None:
    """The kind and sizes of a module that holds weights; None for pure containers."""
    if isinstance(module, nn.Linear):
        return ModuleShape("linear", module.in_features, module.out_features)
    if is_gpt2_conv1d(module):
        fan_in, fan_out = module.weight.shape
        return ModuleShape("conv1d", fan_in, fan_out)
    if isinstance(module, nn.Embedding):
        return ModuleShape("embedding", module.num_embeddings, module.embedding_dim)
    if isinstance(module, nn.Conv2d):
        return ModuleShape("conv2d", module.in_channels, module.out_channels)
    if isinstance(module, nn.modules.conv._ConvNd):
        # nn.Conv1d/Conv3d: LoRA and IA3 can adapt them, so the check needs their channels.
        return ModuleShape("other", module.in_channels, module.out_channels)
    if next(module.parameters(recurse=False), None) is not None:
        # Norms and the like: listed so that saved copies of them (modules_to_save, bias) are found.
        return ModuleShape("other", None, None)
    return None


def is_gpt2_conv1d(module: nn.Module) -> bool:
    """transformers' Conv1D (weight [in, out]), recognised without importing transformers."""
    weight = getattr(module, "weight", None)
    return type(module).__name__ == "Conv1D" and hasattr(module, "nf") and getattr(weight, "ndim", 0) == 2


def _num_layers(config: object) -> int | None:
    for name in ("num_hidden_layers", "n_layer", "num_layers"):
        value = getattr(config, name, None)
        if type(value) is int:
            return value
    return None
