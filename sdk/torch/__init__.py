"""Torch side of the SDK: model structure and fingerprint, and adapter injection (LoRA, IA3 natively).

Importing this package imports torch; ``sdk.formats`` and the HTTP client never do, so callers import it
lazily, when a model is at hand.
"""

from sdk.torch.errors import AdapterLoadError, IncompatibleAdapterError, UnsupportedMethodError
from sdk.torch.fingerprint import base_fingerprint, parameter_dtype
from sdk.torch.handle import AdapterHandle
from sdk.torch.inject import inject_adapter, load_adapter_folder, native_unsupported
from sdk.torch.loaders import pull_folder
from sdk.torch.structure import model_structure

__all__ = [
    "AdapterHandle",
    "AdapterLoadError",
    "IncompatibleAdapterError",
    "UnsupportedMethodError",
    "base_fingerprint",
    "inject_adapter",
    "load_adapter_folder",
    "model_structure",
    "native_unsupported",
    "parameter_dtype",
    "pull_folder",
    "pull_into",
]

pull_into = pull_folder  # its name when it took PEFT folders only; pull_folder takes every library's
