"""Errors raised while validating adapter files.

Every error carries a stable machine-readable ``code`` (sent to clients in the ``X-Error-Code`` header)
and a human message that names the file, tensor or module at fault.
"""

from __future__ import annotations


class FormatError(ValueError):
    """Base class: an adapter file is malformed."""

    code: str = "InvalidAdapter"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            # An instance attribute shadows the class default, so one class can carry finer codes.
            self.code = code


class SafetensorsError(FormatError):
    """A ``.safetensors`` file is malformed (header, dtype, shape or offsets)."""

    code = "InvalidSafetensors"


class AdapterConfigError(FormatError):
    """An adapter configuration (``adapter_config.json``) is malformed."""

    code = "InvalidAdapterConfig"


class InconsistentAdapterError(FormatError):
    """The configuration and the tensors are each well formed but disagree."""

    code = "InconsistentAdapter"
