"""Load test: two hub replicas on one PostgreSQL and one S3, 8+ clients mixing publish, search, download
and pull for a bounded time on loopback; then every published version is checked present and
byte-identical on both replicas. Prints operations and HTTP requests per kind, errors by code,
p50/p99 latency and throughput.

    python bench/load_replicas.py --seconds 60 --clients 8 [--postgres-url postgresql://postgres@127.0.0.1:5432/test]

It starts everything itself (a fresh database on the PostgreSQL server, a moto S3 process, two
`hub serve` processes) and removes it afterwards. tests/hub/trust/test_load.py runs a short version.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.common import percentile, print_table
from tests.helpers import declare, tiny_lora_files

KINDS = ("publish", "search", "download", "pull")
WEIGHTS = (2, 3, 3, 2)  # of every 10 operations: 2 publishes, 3 searches, 3 downloads, 2 pulls
ADAPTERS = [f"a{index}" for index in range(4)]  # few adapters, so publishes to one adapter collide
SEARCHES = [{"q": "loader"}, {"q": "tiny llama"}, {"q": "a1"}, {"method": "lora"}, {"q": "card", "sort": "recent"}]
MAX_CONFLICT_RETRIES = 20


@dataclass
class Published:
    adapter: str
    version: str
    revision: str
    seed: int
    digests: dict[str, str]  # path -> sha256


@dataclass
class LoadReport:
    seconds: float
    clients: int
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # ms per successful op
    requests: Counter = field(default_factory=Counter)  # HTTP requests per kind
    errors: Counter = field(default_factory=Counter)  # (kind, code) -> count, conflicts excluded
    conflicts: Counter = field(default_factory=Counter)  # kind -> 409 VersionConflict answers (retried)
    published: list[Published] = field(default_factory=list)
    verify_problems: list[str] = field(default_factory=list)
    verified_files: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def unexpected_errors(self) -> dict[tuple[str, str], int]:
        return dict(self.errors)

    def table(self) -> None:
        rows = []
        for kind in KINDS:
            samples = self.latencies.get(kind, [])
            failed = sum(n for (k, _), n in self.errors.items() if k == kind)
            rows.append(
                [
                    kind,
                    len(samples) + failed,
                    self.requests[kind],
                    self.conflicts[kind],
                    failed,
                    percentile(samples, 50) if samples else 0.0,
                    percentile(samples, 99) if samples else 0.0,
                    len(samples) / self.seconds,
                ]
            )
        total_ops = sum(len(v) for v in self.latencies.values())
        total_requests = sum(self.requests.values())
        rows.append(["all", total_ops, total_requests, sum(self.conflicts.values()), len(self.errors), "", "", ""])
        headers = ["kind", "ops", "HTTP requests", "409 retried", "errors", "p50 ms", "p99 ms", "ops/s"]
        print_table(headers, rows)
        print(
            f"\n{self.clients} clients, {self.seconds:.0f} s: {total_ops / self.seconds:.1f} ops/s, "
            f"{total_requests / self.seconds:.1f} HTTP requests/s over 2 replicas"
        )
        print("errors by code: " + (", ".join(f"{k}/{c}: {n}" for (k, c), n in sorted(self.errors.items())) or "none"))
        print(
            f"verified: {len(self.published)} published versions, {self.verified_files} file downloads "
            f"byte-identical on both replicas; problems: {len(self.verify_problems)}"
        )
        for problem in self.verify_problems[:20]:
            print("  " + problem)


class Worker:
    """One client: its own HTTP connections to every replica, a random mix of operations until the deadline."""

    def __init__(self, index: int, urls: list[str], token: str, report: LoadReport, seeds, cache_root: Path) -> None:
        self.rng = random.Random(index)
        self.urls = urls
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.report = report
        self.seeds = seeds
        self.cache_root = cache_root
        self.clients = [self._client(url) for url in urls]

    def _client(self, url: str) -> httpx.Client:
        def count(_request: httpx.Request) -> None:
            self._requests += 1

        return httpx.Client(base_url=url, timeout=60, event_hooks={"request": [count]})

    def run(self, deadline: float) -> None:
        try:
            while time.monotonic() < deadline:
                kind = self.rng.choices(KINDS, WEIGHTS)[0]
                if kind in ("download", "pull") and not self.report.published:
                    kind = "publish"
                self._once(kind)
        finally:
            for client in self.clients:
                client.close()

    def _once(self, kind: str) -> None:
        self._requests = 0
        started = time.perf_counter()
        try:
            getattr(self, kind)(self.rng.choice(self.clients))
        except OpError as error:
            with self.report.lock:
                self.report.errors[(kind, error.code)] += 1
                self.report.requests[kind] += self._requests
            return
        elapsed = (time.perf_counter() - started) * 1000
        with self.report.lock:
            self.report.latencies[kind].append(elapsed)
            self.report.requests[kind] += self._requests

    # --- the four operations ---------------------------------------------------------------------

    def publish(self, http: httpx.Client) -> None:
        seed = next(self.seeds)
        adapter = f"loader/{self.rng.choice(ADAPTERS)}"
        files = load_files(seed)
        started = _ok(
            http.post(f"/api/adapters/{adapter}/uploads", json={"files": declare(files)}, headers=self.headers)
        )
        by_sha = {hashlib.sha256(data).hexdigest(): data for data in files.values()}
        for blob in started["missing"]:
            _ok(http.put(blob["url"], content=by_sha[blob["sha256"]], headers=self.headers))
        body = {"base_model": "tiny/llama-test", "tags": ["load"]}
        for _attempt in range(MAX_CONFLICT_RETRIES):
            response = http.post(started["commit_url"], json=body, headers=self.headers)
            if response.status_code != 409:
                break
            with self.report.lock:
                self.report.conflicts["publish"] += 1
        version = _ok(response)
        digests = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
        with self.report.lock:
            self.report.published.append(Published(adapter, version["version"], version["revision"], seed, digests))

    def search(self, http: httpx.Client) -> None:
        _ok(http.get("/api/adapters", params=self.rng.choice(SEARCHES)))

    def download(self, http: httpx.Client) -> None:
        target = self.rng.choice(self.report.published)
        path = self.rng.choice(sorted(target.digests))
        response = http.get(f"/api/adapters/{target.adapter}/versions/{target.revision}/files/{path}")
        _ok(response, json=False)
        if hashlib.sha256(response.content).hexdigest() != target.digests[path]:
            raise OpError("WrongBytes")

    def pull(self, http: httpx.Client) -> None:
        """What `hub pull` does on the wire (resolve, fetch every file, verify), via the SDK, into a fresh cache."""
        from sdk import Hub
        from sdk.errors import HubError as SdkError

        target = self.rng.choice(self.report.published)
        with tempfile.TemporaryDirectory(dir=self.cache_root) as cache:
            try:
                with Hub(str(http.base_url), self.token, cache_dir=cache, retries=0) as hub:
                    folder = hub.download(f"{target.adapter}@{target.revision}")
                    for path, digest in target.digests.items():
                        if hashlib.sha256((folder / path).read_bytes()).hexdigest() != digest:
                            raise OpError("WrongBytes")
            except SdkError as error:
                raise OpError(getattr(error, "code", type(error).__name__)) from None
            except OSError as error:
                raise OpError(type(error).__name__) from None
        self._requests += 1 + len(target.digests)


class OpError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _ok(response: httpx.Response, *, json: bool = True) -> Any:
    if response.status_code >= 400:
        raise OpError(response.headers.get("X-Error-Code") or f"HTTP {response.status_code}")
    return response.json() if json else response


_FILES_CACHE: dict[int, dict[str, bytes]] = {}


def load_files(seed: int) -> dict[str, bytes]:
    """A distinct small PEFT LoRA per seed (cached: verification regenerates the same bytes)."""
    if seed not in _FILES_CACHE:
        files = tiny_lora_files(seed=seed, rank=4 + seed % 4)
        files["README.md"] = f"# load test adapter {seed}\n\nA card for the load test.\n".encode()
        _FILES_CACHE[seed] = files
    return _FILES_CACHE[seed]


def run_load(urls: list[str], token: str, *, seconds: float, clients: int) -> LoadReport:
    """Drive `clients` workers against the replicas for `seconds`, then verify every published version."""
    report = LoadReport(seconds=seconds, clients=clients)
    seeds = itertools.count(1)
    with tempfile.TemporaryDirectory(prefix="hub-load-") as cache_root:
        workers = [Worker(i, urls, token, report, seeds, Path(cache_root)) for i in range(clients)]
        deadline = time.monotonic() + seconds
        threads = [threading.Thread(target=worker.run, args=(deadline,)) for worker in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=seconds + 300)
    verify(urls, report)
    return report


def verify(urls: list[str], report: LoadReport) -> None:
    """Every successful publish is listed on every replica, numbered 1..N per adapter, and byte-identical."""
    expected: dict[str, dict[str, Published]] = defaultdict(dict)
    for item in report.published:
        if item.version in expected[item.adapter]:
            report.verify_problems.append(f"{item.adapter} {item.version} was handed out twice")
        expected[item.adapter][item.version] = item
    for url in urls:
        with httpx.Client(base_url=url, timeout=60) as http:
            for adapter, versions in expected.items():
                info = http.get(f"/api/adapters/{adapter}").json()
                listed = {v["version"]: v["revision"] for v in info["versions"]}
                if set(listed) != set(versions) or sorted(int(v[1:]) for v in listed) != list(
                    range(1, len(listed) + 1)
                ):
                    report.verify_problems.append(
                        f"{url} {adapter}: lists {sorted(listed)}, published {sorted(versions)}"
                    )
                for number, item in versions.items():
                    if listed.get(number) != item.revision:
                        report.verify_problems.append(f"{url} {adapter} {number}: revision differs")
                        continue
                    for path, data in load_files(item.seed).items():
                        got = http.get(f"/api/adapters/{adapter}/versions/{item.revision}/files/{path}")
                        report.verified_files += 1
                        if got.status_code != 200 or got.content != data:
                            report.verify_problems.append(f"{url} {adapter} {number} {path}: {got.status_code}")


def main(argv: list[str] | None = None) -> int:
    from tests.fixtures.replicas import (
        FAKE_AWS_ENV,
        create_bucket,
        create_database,
        drop_database,
        make_token,
        start_cluster,
        start_moto,
    )

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    args = parser.parse_args(argv)
    for name, value in FAKE_AWS_ENV.items():
        os.environ.setdefault(name, value)

    with tempfile.TemporaryDirectory(prefix="hub-load-") as work:
        work_dir = Path(work)
        database_url = create_database(args.postgres_url)
        moto = cluster = None
        try:
            moto = start_moto(work_dir)
            cluster = start_cluster(database_url, moto.url, moto.client(), work_dir)
            create_bucket(moto.client(), cluster.bucket)
            token = make_token(database_url, "loader")
            print(
                f"2 replicas {cluster.urls} on {database_url.rsplit('/', 1)[1]} and s3://{cluster.bucket} ({moto.url})"
            )
            report = run_load(cluster.urls, token, seconds=args.seconds, clients=args.clients)
        finally:
            if cluster is not None:
                cluster.stop()
            if moto is not None:
                moto.stop()
            drop_database(args.postgres_url, database_url)
    print()
    report.table()
    return 1 if report.errors or report.verify_problems else 0


if __name__ == "__main__":
    sys.exit(main())
