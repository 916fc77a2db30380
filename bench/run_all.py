"""Every benchmark row of issue 7, each beside its baseline measured in the same run, then one summary table.

    python -m bench.run_all [--only pull publish ...] [--skip search ...]      (or: make bench)

Rows run one after the other (never in parallel: they would measure each other). The search row is
bench/bench_search.py, run as its own process with its defaults; its table is printed as it comes and
its 100k figures are carried into the summary. A row that fails is reported as failed, and the rest run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Callable

from bench import (
    bench_compat,
    bench_info,
    bench_memory,
    bench_publish,
    bench_pull,
    bench_republish,
    bench_signing,
    bench_warm_pull,
)
from bench._results import Result, print_results

ROWS: dict[str, Callable[[], list[Result]]] = {
    "pull": bench_pull.run,
    "publish": bench_publish.run,
    "memory": bench_memory.run,
    "warm-pull": bench_warm_pull.run,
    "compat": bench_compat.run,
    "info": bench_info.run,
    "republish": bench_republish.run,
    "signing": bench_signing.run,
}
SEARCH_P99_MS = 20.0
SEARCH_GROWTH = 2.0


def run_search() -> list[Result]:
    """bench_search in its own process (it reads its own command line); its figures at the largest size."""
    command = [sys.executable, "-u", "-m", "bench.bench_search"]
    process = subprocess.run(command, capture_output=True, text=True, check=False)
    print(process.stdout, end="")
    if process.returncode:
        raise RuntimeError(f"bench_search exited {process.returncode}: {process.stderr[-1500:]}")
    return search_results(process.stdout)


def search_results(output: str) -> list[Result]:
    """Rows `| engine | adapters | API p50 | API p99 | SQL p50 | SQL p99 | ratio |` -> results at the largest size."""
    rows: dict[str, list[list[float]]] = {}
    for line in output.splitlines():
        cells = [cell.strip().replace(",", "") for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 6 and re.fullmatch(r"\d+", cells[1]) and cells[0].isalpha():
            rows.setdefault(cells[0], []).append([float(cell) for cell in cells[1:6]])
    results = []
    for engine, sizes in rows.items():
        smallest, largest = min(sizes), max(sizes)
        size, p50, p99, sql_p50, _ = largest
        note = f"{int(size):,} adapters; p99 at {int(size):,} / p99 at {int(smallest[0]):,} = {p99 / smallest[2]:.2f}"
        met = p99 < SEARCH_P99_MS and p99 / smallest[2] <= SEARCH_GROWTH
        target = f"p99 < {SEARCH_P99_MS:g} ms, growth <= {SEARCH_GROWTH:g}x"
        results.append(Result(f"search API, {engine}", "ms", p50, p99, sql_p50, target, met, note))
    if not results:
        raise RuntimeError("no table rows found in bench_search's output")
    return results


def machine() -> str:
    load = os.getloadavg()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    return (
        f"{os.cpu_count()} cores, {memory:.0f} GiB RAM, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


def run_row(name: str, run: Callable[[], list[Result]]) -> list[Result]:
    started = time.monotonic()
    print(f"\n=== {name} ===", flush=True)
    try:
        results = run()
    except Exception as error:  # one broken row must not hide the others
        traceback.print_exc()
        return [Result(name, "-", float("nan"), target="-", met=False, note=f"failed: {error!r}"[:160])]
    print_results(results, f"{name} ({time.monotonic() - started:.0f} s)")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = ["search", *ROWS]
    parser.add_argument("--only", nargs="+", choices=names, default=names)
    parser.add_argument("--skip", nargs="+", choices=names, default=[])
    args = parser.parse_args()
    chosen = [name for name in args.only if name not in args.skip]
    print(f"Machine: {machine()} (other processes may share these cores)")
    results: list[Result] = []
    for name in chosen:
        results += run_row(name, run_search if name == "search" else ROWS[name])
    print_results(results, f"Summary (medians; ratio = median / the baseline's median, same run). {machine()}")


if __name__ == "__main__":
    main()
