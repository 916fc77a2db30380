"""Load generators for a server on loopback: wrk when installed (C, cheap per request, so the server is what is
measured), else an asyncio httpx client with N keep-alive connections (Python: it shares the cores and tops out
lower; the table says which one ran)."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

import httpx

from bench.common import percentile


@dataclass(frozen=True)
class Load:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int


def generator_name() -> str:
    return "wrk" if shutil.which("wrk") else "asyncio httpx"


def run_load(url: str, connections: int, seconds: float) -> Load:
    return _wrk(url, connections, seconds) if shutil.which("wrk") else _httpx(url, connections, seconds)


def _wrk(url: str, connections: int, seconds: float) -> Load:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    rate = float(_find(r"Requests/sec:\s+([\d.]+)", out))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, sockets.groups())) if sockets else 0)
    # Anchored: "71.50%" in the thread stats would match a bare "50%".
    p50, p99 = (_wrk_ms(_find(rf"(?m)^\s+{p}%\s+(\S+)$", out)) for p in (50, 99))
    return Load(rate, p50, p99, errors)


def _find(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"unexpected wrk output: {text[:500]}")
    return match.group(1)


def _wrk_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def _httpx(url: str, connections: int, seconds: float) -> Load:
    return asyncio.run(_httpx_load(url, connections, seconds))


async def _httpx_load(url: str, connections: int, seconds: float) -> Load:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(url)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status_code != 200

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        began = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return Load(len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors)
