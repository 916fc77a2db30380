"""Errors raised while putting an adapter into a torch model; each names the adapter, file and module."""

from __future__ import annotations

from sdk.formats.compat import CompatReport

INSTALL_HINT = "pip install adapter-hub[torch] peft"


class IncompatibleAdapterError(ValueError):
    """The compatibility check found problems; ``report`` lists them per module."""

    code = "IncompatibleAdapter"

    def __init__(self, report: CompatReport, *, adapter: str = "the adapter", refused_warnings: bool = False) -> None:
        self.report = report
        self.adapter = adapter
        hint = "\n(pass force=True to load despite these warnings)" if refused_warnings else ""
        super().__init__(f"{adapter} does not fit this model: {report}{hint}")


class UnsupportedMethodError(ValueError):
    """The adapter's method has no native implementation, and peft is not installed to delegate to."""

    code = "UnsupportedMethod"

    def __init__(self, method: str, *, adapter: str = "the adapter", reason: str = "", hint: str = "") -> None:
        self.method = method
        self.adapter = adapter
        detail = f" ({reason})" if reason else ""
        hint = hint or f"install peft to load it: {INSTALL_HINT}"
        super().__init__(f"{adapter}: method {method}{detail} has no native loader; {hint}")


class AdapterLoadError(ValueError):
    """The adapter's tensors do not fit the modules they name, or some would not be applied."""

    code = "AdapterLoadFailed"
