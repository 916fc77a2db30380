"""Web page latency with 10,000 adapters on SQLite: the search and adapter pages against the JSON API
answering the same question, and a trivial route, all measured in the same run and the same process.

The catalogue is bench.catalogue's synthetic one (bulk-inserted through the models) plus the `hub demo`
adapters published through the real publish path, so adapter pages have real facts, files and cards;
one of them gets extra versions. Every synthetic version states two evaluation results (accuracy and f1 on
one of a few datasets; one in twenty is a base model's own score), so the leaderboard of the most common
(task, base model) ranks hundreds of adapters and sort=metric reads a score for every adapter of a task.
Requests go through Starlette's TestClient (in-process, no sockets).
Pages and API share the generation-keyed facet cache, so repeated queries mostly hit it; the "cold" case
sends a different query every time, and so counts facets afresh on every request.

    python -m bench.bench_web [--adapters 10000] [--repeat 200] [--only leaderboard,metric]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select

from bench.catalogue import METHODS, WORDS, add_adapters
from bench.common import print_table, summary, timed
from hub.app import create_app
from hub.config import Settings
from hub.db import unit_of_work
from hub.demo import adapter_files, demo_adapters, load_demo, publish_files
from hub.migrate import upgrade
from hub.models import Evaluation, Version
from hub.registry.publish.metadata import PublishMetadata

TARGET_P99_MS = 50.0
EXTRA_VERSIONS = 8
VERSION_API = "/api/adapters/demo"
# (label, page, baseline route answering the same question as JSON)
CASES = [
    ("search: first page", "/search", "/api/adapters"),
    (
        "search: base model + words",
        "/search?base_model=meta-llama/Llama-3.1-8B&q=customer",
        "/api/adapters?base_model=meta-llama/Llama-3.1-8B&q=customer",
    ),
    ("search: method, recent", "/search?method=lora&sort=recent", "/api/adapters?method=lora&sort=recent"),
    ("search: tag + license", "/search?tag=code&license=mit", "/api/adapters?tag=code&license=mit"),
    ("search: no match", "/search?q=zzzz&method=ia3", "/api/adapters?q=zzzz&method=ia3"),
    ("adapter: 210 modules, 9 vers.", "/demo/smollm2-alpaca-lora", f"{VERSION_API}/smollm2-alpaca-lora/versions/main"),
    ("adapter: gpt2 LoRA", "/demo/gpt2-sst2-lora", f"{VERSION_API}/gpt2-sst2-lora/versions/main"),
    ("front page", "/", "/api/adapters?sort=recent"),
    (
        "leaderboard: top (task, base)",
        "/leaderboards?task=text-generation&base_model=meta-llama/Llama-3.1-8B&metric=accuracy",
        "/api/leaderboards?task=text-generation&base_model=meta-llama/Llama-3.1-8B&metric=accuracy",
    ),
    (
        "search: task, sort=metric",
        "/search?task=text-generation&sort=metric:accuracy",
        "/api/adapters?task=text-generation&sort=metric:accuracy",
    ),
]  # fmt: skip
EVAL_DATASETS = [("glue", "sst2", "validation"), ("mmlu", None, "test"), ("hellaswag", None, "validation")]


def build_hub(workdir: Path, adapters: int) -> Any:
    settings = Settings(data_dir=workdir)
    upgrade(settings.database_url)
    app = create_app(settings)
    # The synthetic rows first: bench.catalogue gives versions the ids of their adapters.
    add_adapters(app.state.engine, adapters - len(demo_adapters()), seed=1)
    add_evaluations(app.state.engine, seed=2)
    load_demo(app.state.session_factory, app.state.storage, app.state.limits)
    _more_versions(app, "smollm2-alpaca-lora", EXTRA_VERSIONS)
    return app


def add_evaluations(engine: Engine, seed: int) -> None:
    """Two stated results per version (accuracy and f1 on one dataset); every twentieth is the base's own score."""
    rng = random.Random(seed)
    with engine.connect() as connection:
        versions = list(connection.execute(select(Version.id, Version.task)))
    rows = []
    for version_id, task in versions:
        dataset, config, split = rng.choice(EVAL_DATASETS)
        baseline = rng.random() < 0.05
        for position, metric in enumerate(("accuracy", "f1")):
            rows.append(
                {"version_id": version_id, "position": position, "task": task or "text-generation",
                 "dataset_id": dataset, "dataset_config": config, "dataset_split": split, "metric": metric,
                 "value": round(rng.uniform(0.4, 0.95), 4), "baseline": baseline, "verified": False,
                 "origin": "README.md"}
            )  # fmt: skip
    with engine.begin() as connection:
        for start in range(0, len(rows), 5000):
            connection.execute(insert(Evaluation), rows[start : start + 5000])


def _more_versions(app: Any, name: str, count: int) -> None:
    demo = next(adapter for adapter in demo_adapters() if adapter.name == name)
    for seed in range(1, count + 1):
        demo.seed = seed  # other bytes, so every version has its own blobs
        with unit_of_work(app.state.session_factory) as session:
            meta = PublishMetadata(**{**demo.meta.__dict__, "tags": list(demo.meta.tags)})
            files = adapter_files(demo)
            files["README.md"] += f"\n\nRelease {seed}.\n".encode()  # demo.seed alone leaves the bytes alike
            publish_files(session, app.state.storage, app.state.limits, "demo", name, files, meta)


def cold_queries(repeat: int) -> list[str]:
    """Query strings that never repeat in a run: every one misses the facet cache and counts afresh."""
    pairs = [(word, method) for word in WORDS for method, _, _ in METHODS]
    return [f"q={word}&method={method}&sort=recent" for word, method in pairs * (repeat // len(pairs) + 2)]


def measure(client: TestClient, repeat: int, only: str = "") -> list[list[Any]]:
    """Every case whose label contains one of the comma-separated words of `only` (all by default)."""
    rows = []
    trivial = _samples(client, "/healthz", repeat)
    cold = cold_queries(repeat)
    cases = [
        *CASES,
        ("search: cold, no cache hits", [f"/search?{q}" for q in cold], [f"/api/adapters?{q}" for q in cold]),
    ]
    wanted = only.split(",")
    for label, page, baseline in (case for case in cases if any(word in case[0] for word in wanted)):
        page_ms, json_ms = _samples(client, page, repeat), _samples(client, baseline, repeat)
        (p50, p99), (j50, j99) = summary(page_ms), summary(json_ms)
        verdict = "ok" if p99 < TARGET_P99_MS else "SLOW"
        rows.append([label, p50, p99, j50, j99, p99 / j99, p99 / summary(trivial)[1], verdict])
    return rows


def _samples(client: TestClient, path: str | list[str], repeat: int) -> list[float]:
    """Milliseconds per request; a list of paths is walked in order (after the first few warm the code paths)."""
    paths = iter(path) if isinstance(path, list) else itertools.repeat(path)
    for _ in range(5):  # warm: compiled templates, statement caches, the card cache
        client.get(next(paths)).raise_for_status()
    return timed(lambda: client.get(next(paths)).raise_for_status(), repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--adapters", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--only", default="", help="only the cases whose label has one of these words (a,b)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        app = build_hub(Path(workdir), args.adapters)
        with TestClient(app) as client:
            trivial = summary(_samples(client, "/healthz", args.repeat))
            rows = measure(client, args.repeat, args.only)
            competing = _competing(client)
        app.state.engine.dispose()
    print(f"\nWeb pages vs JSON API, SQLite, {args.adapters:,} adapters, {args.repeat} requests each, ms")
    print(f"trivial route /healthz: p50 {trivial[0]:.2f}, p99 {trivial[1]:.2f}; target: page p99 < {TARGET_P99_MS:.0f}")
    headers = ["case", "page p50", "page p99", "JSON p50", "JSON p99", "page/JSON p99", "page/healthz p99", "target"]
    print_table(headers, rows)
    print(f"leaderboard case: {competing:,} adapters of that task and base compete (the page shows the top 100)")


def _competing(client: TestClient) -> int:
    """How many adapters have the leaderboard case's task and base model (the search API's total)."""
    query = "task=text-generation&base_model=meta-llama/Llama-3.1-8B&limit=1"
    return client.get(f"/api/adapters?{query}").json()["total"]


if __name__ == "__main__":
    main()
