"""CompatReport.refusal: the one rule every pull path applies (errors always refuse; warnings unless forced)."""

from __future__ import annotations

import pytest

from sdk.formats.compat import CompatReport, Problem

ERROR = Problem("model.layers.0.q_proj", "shape_mismatch", "error", "in 8, the model has 16")
WARNING = Problem("", "fingerprint_mismatch", "warning", "the base fingerprint differs")


@pytest.mark.parametrize(
    ("problems", "force", "refused", "hint"),
    [
        ([], False, False, False),
        ([WARNING], True, False, False),
        ([WARNING], False, True, True),
        ([ERROR], True, True, False),
        ([ERROR, WARNING], False, True, False),
    ],
)
def test_refusal_refuses_errors_always_and_warnings_unless_forced(problems, force, refused, hint) -> None:
    reason = CompatReport(problems, checked_modules=1).refusal(force)
    assert (reason is not None) == refused
    if reason is not None:
        assert all(problem.message in reason for problem in problems)  # names every problem found
        assert ("pass force=True" in reason) == hint  # forcing is offered only where it would help
