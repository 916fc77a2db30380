"""Errors raised while putting an adapter into a torch model; each names the adapter, file and module."""

from __future__ import annotations

from sdk.formats.compat import CompatReport

INSTALL_HINT = "pip install adapter-hub[torch] peft"


class IncompatibleAdapterError(ValueError):
    """The compatibility check found problems; ``report`` lists them per module."""

    code = "IncompatibleAdapter"

    def __init__(self, report: CompatReport, *, adapter: str = "the adapter", reason: str | None = None) -> None:
        self.report = report
        self.adapter = adapter
        super().__init__(f"{adapter} does not fit this model: {reason or report}")


def refuse_unfit(report: CompatReport, *, adapter: str, force: bool) -> None:
    """IncompatibleAdapterError when the report refuses the load (CompatReport.refusal); else nothing."""
    reason = report.refusal(force)
    if reason is not None:
        raise IncompatibleAdapterError(report, adapter=adapter, reason=reason)


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


class MergeIncompatible(ValueError):
    """Adapters cannot be merged with the method asked for; ``problems`` lists why, naming adapters and modules."""

    code = "MergeIncompatible"

    def __init__(self, problems: list[str], *, method: str) -> None:
        self.problems = problems
        self.method = method
        shown = "\n  ".join(problems[:30]) + (f"\n  ... and {len(problems) - 30} more" if len(problems) > 30 else "")
        super().__init__(f"these adapters cannot be merged with method {method!r}:\n  {shown}")
