"""Search API latency at 1k, 10k and 100k adapters on SQLite and PostgreSQL, against the same SQL run directly.

For each catalogue size the query mix (a facet filter plus a full-text query, as people search) is
sent to a hub on loopback; the baseline replays the exact SQL statements that request executed,
captured from the engine, on a raw DB-API cursor. Prints p50/p99 and the ratios.

    python -m bench.bench_search [--sizes 1000 10000 100000] [--repeat 100] [--engines sqlite postgresql]
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from bench.catalogue import add_adapters
from bench.common import print_table, serve, summary, timed
from hub.app import create_app
from hub.config import Settings
from hub.migrate import upgrade

QUERIES = [
    {"base_model": "meta-llama/Llama-3.1-8B", "q": "customer"},
    {"architecture": "llama", "method": "lora", "q": "sql queries"},
    {"task": "summarization", "q": "headlines"},
    {"library": "adapters", "q": "legal", "sort": "recent"},
    {"license": "mit", "tag": "code", "q": "python"},
    {"q": "reviews sentiment", "sort": "name"},
]


def _postgres_url() -> str:
    import psycopg

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    name = f"hubbench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"


def _capture(app: Any, url: str, params: dict[str, str]) -> list[tuple[str, Any]]:
    statements: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(app.state.engine, "before_cursor_execute", record)
    httpx.get(f"{url}/api/adapters", params=params).raise_for_status()
    event.remove(app.state.engine, "before_cursor_execute", record)
    return statements


def _replay(app: Any, statements: list[tuple[str, Any]]) -> Any:
    raw = app.state.engine.raw_connection()

    def run() -> None:
        cursor = raw.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            cursor.fetchall()
        cursor.close()

    return run, raw


def _measure(app: Any, url: str, repeat: int) -> tuple[list[float], list[float]]:
    api, sql = [], []
    with httpx.Client(base_url=url) as http:
        for params in QUERIES:
            http.get("/api/adapters", params=params)  # warm caches and statement preparation
            api += timed(lambda p=params: http.get("/api/adapters", params=p).raise_for_status(), repeat)
            run, raw = _replay(app, _capture(app, url, params))
            sql += timed(run, repeat)
            raw.close()
    return api, sql


def bench_engine(engine_name: str, sizes: list[int], repeat: int, workdir: Path) -> list[list[Any]]:
    url = f"sqlite:///{workdir / 'search.db'}" if engine_name == "sqlite" else _postgres_url()
    try:
        return _bench_at(url, engine_name, sizes, repeat, workdir)
    finally:
        if engine_name != "sqlite":
            _drop_postgres(url)


def _drop_postgres(url: str) -> None:
    import psycopg

    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def _bench_at(url: str, engine_name: str, sizes: list[int], repeat: int, workdir: Path) -> list[list[Any]]:
    upgrade(url)
    app = create_app(Settings(data_dir=workdir, database_url=url))
    rows, have = [], 0
    with serve(app) as base:
        for size in sizes:
            add_adapters(app.state.engine, size - have, seed=size)
            have = size
            api, sql = _measure(app, base, repeat)
            (api50, api99), (sql50, sql99) = summary(api), summary(sql)
            rows.append([engine_name, size, api50, api99, sql50, sql99, api99 / sql99])
    app.state.engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--engines", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for engine_name in args.engines:
            rows += bench_engine(engine_name, sorted(args.sizes), args.repeat, Path(workdir))
    print(f"\nSearch API vs the same SQL run directly ({len(QUERIES)} queries x {args.repeat} each), ms")
    print_table(["engine", "adapters", "API p50", "API p99", "SQL p50", "SQL p99", "API/SQL p99"], rows)
    for engine_name in args.engines:
        mine = [r for r in rows if r[0] == engine_name]
        print(f"{engine_name}: p99 at {mine[-1][1]} / p99 at {mine[0][1]} = {mine[-1][3] / mine[0][3]:.2f}")


if __name__ == "__main__":
    main()
