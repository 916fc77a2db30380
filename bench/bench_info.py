"""Adapter-info endpoint (`GET /api/adapters/{ns}/{name}`) throughput on one uvicorn worker, against a
hello-world FastAPI route mounted on the same server process (bench/_info_server.py). The server runs in its
own process; the load generator (wrk, else asyncio httpx) in another, on loopback. The catalogue holds the demo
adapters plus 10k generated ones. Rounds alternate hello / info so that outside load hits both alike.

    python -m bench.bench_info [--engines sqlite postgresql] [--rounds 3] [--seconds 8] [--connections 16]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench._info_server import HELLO_PATH
from bench._load import Load, generator_name, run_load
from bench._procs import BIN, running
from bench._results import Result, print_results
from bench.catalogue import add_adapters
from bench.common import free_port, print_table

INFO_PATH = "/api/adapters/demo/tinyllama-sql-lora"
TARGET = 0.30
CATALOGUE = 10_000


ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def database(engine_name: str, workdir: Path) -> Iterator[str]:
    """A SQLite file, or a new PostgreSQL database (dropped afterwards) on TEST_POSTGRES_URL's server."""
    if engine_name == "sqlite":
        yield f"sqlite:///{workdir / 'hub.db'}"
        return
    import psycopg

    name = f"hubbench_info_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{ADMIN_URL.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(env: dict[str, str]) -> None:
    from hub.db import make_engine

    for verb in (["db", "upgrade"], ["demo"]):
        done = subprocess.run([str(BIN / "hub"), *verb], env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(f"hub {' '.join(verb)} failed: {done.stderr[-2000:]}")
    engine = make_engine(env["HUB_DATABASE_URL"])
    add_adapters(engine, CATALOGUE, seed=1)
    engine.dispose()


@contextmanager
def info_server(engine_name: str, workdir: Path) -> Iterator[str]:
    with database(engine_name, workdir) as url:
        env = {**os.environ, "HUB_DATA_DIR": str(workdir), "HUB_DATABASE_URL": url}
        seed(env)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "bench._info_server", "--port", str(port)]
        with running(command, base + "/healthz", env):
            for path in (HELLO_PATH, INFO_PATH):
                httpx.get(base + path, timeout=10).raise_for_status()
            yield base


def measure(engine_name: str, rounds: int, seconds: float, connections: int) -> tuple[Result, list[list[object]]]:
    loads: dict[str, list[Load]] = {"hello": [], "info": []}
    with tempfile.TemporaryDirectory(prefix="hubbench-") as workdir, info_server(engine_name, Path(workdir)) as base:
        run_load(base + INFO_PATH, connections, 2)  # warm-up: connection pool, statement cache
        for _ in range(rounds):
            loads["hello"].append(run_load(base + HELLO_PATH, connections, seconds))
            loads["info"].append(run_load(base + INFO_PATH, connections, seconds))
    rates = {route: statistics.median(load.requests_per_s for load in runs) for route, runs in loads.items()}
    p99 = {route: statistics.median(load.p99_ms for load in runs) for route, runs in loads.items()}
    errors = sum(load.errors for runs in loads.values() for load in runs)
    ratio = rates["info"] / rates["hello"]
    note = f"{engine_name}; p99 latency {p99['info']:.1f} ms vs {p99['hello']:.1f} ms; {errors} errors"
    result = Result(
        f"adapter info, 1 worker, {engine_name}",
        "req/s",
        rates["info"],
        None,
        rates["hello"],
        f"ratio >= {TARGET:g}",
        ratio >= TARGET and errors == 0,
        note,
    )
    rows = [
        [engine_name, route, rates[route], statistics.median(r.p50_ms for r in runs), p99[route]]
        for route, runs in loads.items()
    ]
    return result, rows


def run(engines: list[str] | None = None, rounds: int = 3, seconds: float = 8, connections: int = 16) -> list[Result]:
    results, rows = [], []
    for engine_name in engines or ["sqlite", "postgresql"]:
        result, detail = measure(engine_name, rounds, seconds, connections)
        results.append(result)
        rows += detail
    load = f"{generator_name()} with {connections} connections, median of {rounds} x {seconds:g} s"
    print(f"\nAdapter info vs hello world, {load}")
    print_table(["engine", "route", "req/s", "p50 ms", "p99 ms"], rows)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    results = run(args.engines, args.rounds, args.seconds, args.connections)
    print_results(results, "Adapter-info endpoint vs a hello-world route on the same server")


if __name__ == "__main__":
    main()
