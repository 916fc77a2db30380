"""One line of the summary table per measured figure: median, p99, the baseline from the same run, the ratio."""

from __future__ import annotations

from dataclasses import dataclass

from bench.common import print_table, summary


@dataclass(frozen=True)
class Result:
    row: str
    unit: str
    median: float
    p99: float | None = None
    baseline: float | None = None  # the baseline's median, measured in the same run
    target: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.median / self.baseline if self.baseline else None


def timed_result(row: str, samples: list[float], baseline: list[float] | None, limit: float, note: str = "") -> Result:
    """Milliseconds, compared by median against a baseline (ratio <= limit), or against an absolute limit."""
    median, p99 = summary(samples)
    if baseline is None:
        return Result(row, "ms", median, p99, None, f"< {limit:g} ms", median < limit, note)
    base = summary(baseline)[0]
    return Result(row, "ms", median, p99, base, f"ratio <= {limit:g}", median / base <= limit, note)


def print_results(results: list[Result], title: str) -> None:
    print(f"\n{title}")
    headers = ["what", "unit", "median", "p99", "baseline median", "ratio", "target", "met", "note"]
    print_table(headers, [_cells(result) for result in results])


def _cells(result: Result) -> list[object]:
    met = "-" if result.met is None else ("yes" if result.met else "NO")
    numbers = [_show(value) for value in (result.median, result.p99, result.baseline, result.ratio)]
    return [result.row, result.unit, *numbers, result.target, met, result.note]


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"
