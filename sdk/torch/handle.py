"""AdapterHandle: what inject_adapter returns, to switch an adapter off and on, take it out, or merge it."""

from __future__ import annotations

from torch import nn

from sdk.torch._walk import unwrap_root
from sdk.torch.layers import AdapterWrapper

REGISTRY_ATTRIBUTE = "hub_adapters"


class AdapterHandle:
    """One adapter living in a model (``model.hub_adapters[name]``), spread over ``modules``."""

    def __init__(
        self, model: nn.Module, adapter_name: str, placements: dict[str, nn.Module], *, method: str, source: str
    ) -> None:
        self.model = model
        self.adapter_name = adapter_name
        self.method = method
        self.source = source
        self._placements = placements
        self.state = "enabled"  # "enabled" | "disabled" | "unloaded" | "merged"

    @property
    def modules(self) -> list[str]:
        """Paths of the adapted modules (as in the base model's named_modules())."""
        return list(self._placements)

    def __repr__(self) -> str:
        where = f"{len(self._placements)} modules, {self.state}"
        return f"<{type(self).__name__} {self.adapter_name!r} {self.method} from {self.source}: {where}>"

    def disable(self) -> None:
        """The model behaves as the base model until enable()."""
        self._require_live()
        for wrapper in self._wrappers():
            wrapper.set_active(self.adapter_name, False)
        self.state = "disabled"

    def enable(self) -> None:
        self._require_live()
        for wrapper in self._wrappers():
            wrapper.set_active(self.adapter_name, True)
        self.state = "enabled"

    def unload(self) -> None:
        """Take the adapter out; a module left without adapters gets its original object back."""
        self._require_live()
        self._remove(merge=False)
        self.state = "unloaded"

    def merge(self) -> None:
        """Fold the adapter into the base weights (even while disabled), then take its wrappers out.

        Refused when an adapted weight is tied to another module (GPT-2's wte and lm_head): merging would
        change that module too, which PEFT's merge_and_unload does silently.
        """
        self._require_live()
        self._check_untied()
        self._remove(merge=True)
        self.state = "merged"

    def _remove(self, *, merge: bool) -> None:
        for path, wrapper in self._placements.items():
            slot = wrapper.remove(self.adapter_name)
            if merge:
                slot.merge_into(wrapper.base_layer)
            if not wrapper.adapters:
                replace_module(self.model, path, wrapper, wrapper.base_layer)
        self._deregister()

    def _deregister(self) -> None:
        registry(self.model).pop(self.adapter_name, None)

    def _check_untied(self) -> None:
        owners = {id(module.base_layer.weight): path for path, module in self._placements.items()
                  if isinstance(getattr(module, "base_layer", None), nn.Module)
                  and isinstance(getattr(module.base_layer, "weight", None), nn.Parameter)}  # fmt: skip
        for name, parameter in unwrap_root(self.model).named_parameters(remove_duplicate=False):
            owner = name.rpartition(".")[0].removesuffix(".base_layer")
            adapted = owners.get(id(parameter))
            if adapted is not None and owner != adapted:
                raise RuntimeError(
                    f"cannot merge adapter {self.adapter_name!r} from {self.source}: the weight of {adapted!r} "
                    f"is tied to {owner!r}, which merging would change too; keep the adapter unmerged"
                )

    def _wrappers(self) -> list[AdapterWrapper]:
        return list(self._placements.values())  # type: ignore[arg-type]

    def _require_live(self) -> None:
        if self.state in ("unloaded", "merged"):
            raise RuntimeError(f"adapter {self.adapter_name!r} from {self.source} was already {self.state}")


def registry(model: nn.Module) -> dict[str, AdapterHandle]:
    """The model's adapters by name, created on first use."""
    adapters = model.__dict__.get(REGISTRY_ATTRIBUTE)
    if adapters is None:
        adapters = {}
        model.__dict__[REGISTRY_ATTRIBUTE] = adapters
    return adapters


def replace_module(model: nn.Module, path: str, expected: nn.Module, replacement: nn.Module) -> None:
    """Put `replacement` where `expected` sits at `path` (refusing if something else took its place)."""
    parent_path, _, name = path.rpartition(".")
    parent = unwrap_root(model).get_submodule(parent_path)
    if parent._modules.get(name) is not expected:
        raise RuntimeError(f"module {path!r} was replaced by something else since the adapter was injected")
    setattr(parent, name, replacement)
