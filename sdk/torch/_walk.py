"""Walk a model's BASE modules: PEFT wrappers unwrapped, adapter sub-modules skipped.

Both PEFT's tuner layers and ours keep the original module as a ``base_layer`` child; PEFT's
``modules_to_save`` and trainable-token wrappers keep it as ``original_module`` / ``token_adapter.base_layer``.
Reporting the wrapped module under the wrapper's path gives the paths the base model had before
injection, which is what adapter checkpoints name.
"""

from __future__ import annotations

from collections.abc import Iterator

from torch import nn

# PeftModel -> tuner (LoraModel, ...) -> the transformers model; matched by class name so peft stays optional.
_ROOT_WRAPPERS = {"PeftModel": "base_model", "PeftMixedModel": "base_model", "BaseTuner": "model"}


def unwrap_root(model: nn.Module) -> nn.Module:
    """The base model inside a PeftModel (or a tuner); any other model as is."""
    while True:
        attribute = _root_attribute(model)
        inner = getattr(model, attribute, None) if attribute else None
        if not isinstance(inner, nn.Module) or inner is model:
            return model
        model = inner


def _root_attribute(model: nn.Module) -> str | None:
    for cls in type(model).__mro__:
        if cls.__name__ in _ROOT_WRAPPERS:
            return _ROOT_WRAPPERS[cls.__name__]
    return None


def base_of(module: nn.Module) -> nn.Module:
    """The original module inside any stack of adapter wrappers around it."""
    while (inner := _wrapped(module)) is not None:
        module = inner
    return module


def _wrapped(module: nn.Module) -> nn.Module | None:
    children = module._modules
    for name in ("base_layer", "original_module"):
        if isinstance(children.get(name), nn.Module):
            return children[name]
    token_adapter = children.get("token_adapter")
    if token_adapter is not None and isinstance(token_adapter._modules.get("base_layer"), nn.Module):
        return token_adapter._modules["base_layer"]
    return None


def walk_base(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(path, module) for every base module, in named_modules() order, each module object once."""
    seen: set[int] = set()
    stack: list[tuple[str, nn.Module]] = [("", unwrap_root(model))]
    while stack:
        path, module = stack.pop()
        module = base_of(module)
        if id(module) in seen:
            continue
        seen.add(id(module))
        yield path, module
        children = [(f"{path}.{name}" if path else name, child) for name, child in module._modules.items()]
        stack.extend(reversed([item for item in children if item[1] is not None]))
