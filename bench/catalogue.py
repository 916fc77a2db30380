"""A realistic synthetic catalogue for benchmarks: bulk inserts through the models, seeded, fast.

Distributions follow what a busy hub looks like: a few base models carry most adapters (Zipf),
LoRA dominates the methods, downloads are heavy-tailed, descriptions draw from a domain vocabulary.
`python -m bench.catalogue --database-url URL --adapters 100000` fills a migrated database.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, text

from hub.db import make_engine
from hub.models import Adapter, AdapterTag, AdapterText, Namespace, Ref, User, Version
from hub.registry.search.fulltext import document_text
from hub.registry.search.query import FACETS
from hub.timeutil import utcnow

BASES = [
    ("meta-llama/Llama-3.1-8B", "llama"),
    ("meta-llama/Llama-3.2-1B", "llama"),
    ("mistralai/Mistral-7B-v0.3", "mistral"),
    ("Qwen/Qwen2.5-7B", "qwen2"),
    ("Qwen/Qwen2.5-0.5B", "qwen2"),
    ("google/gemma-2-2b", "gemma2"),
    ("microsoft/phi-3-mini-4k-instruct", "phi3"),
    ("openai-community/gpt2", "gpt2"),
    ("bert-base-uncased", "bert"),
    ("roberta-base", "roberta"),
    ("TinyLlama/TinyLlama-1.1B-Chat-v1.0", "llama"),
    ("HuggingFaceTB/SmolLM2-135M", "llama"),
    ("google-t5/t5-base", "t5"),
    ("facebook/opt-350m", "opt"),
    ("EleutherAI/pythia-410m", "gpt_neox"),
    ("tiiuae/falcon-7b", "falcon"),
    ("bigscience/bloom-560m", "bloom"),
    ("distilbert-base-uncased", "distilbert"),
    ("microsoft/deberta-v3-base", "deberta-v2"),
    ("stabilityai/stablelm-2-1_6b", "stablelm"),
] + [(f"org{i}/custom-base-{i}", "llama") for i in range(20)]
TASKS = [
    "text-generation",
    "text-classification",
    "summarization",
    "question-answering",
    "token-classification",
    "translation",
    "chat",
    "code-generation",
    "text-to-sql",
    "sentiment-analysis",
    "feature-extraction",
    "text2text-generation",
    "instruction-tuning",
    "named-entity-recognition",
    "retrieval",
]
METHODS = [
    ("lora", "peft", 62),
    ("ia3", "peft", 8),
    ("adalora", "peft", 4),
    ("loha", "peft", 3),
    ("lokr", "peft", 2),
    ("prefix_tuning", "peft", 5),
    ("prompt_tuning", "peft", 6),
    ("seq_bn", "adapters", 7),
    ("double_seq_bn", "adapters", 2),
    ("prompt_tuning", "adapters", 1),
]
LICENSES = [("apache-2.0", 45), ("mit", 25), ("llama3.1", 10), ("cc-by-4.0", 8), ("other", 7), ("gpl-3.0", 5)]
TAGS = [
    "english",
    "french",
    "german",
    "code",
    "sql",
    "medical",
    "legal",
    "finance",
    "chat",
    "support",
    "news",
    "reviews",
    "math",
    "reasoning",
    "safety",
    "customer-a",
    "customer-b",
    "customer-c",
    "internal",
    "experimental",
]
WORDS = [
    "adapter",
    "tuned",
    "trained",
    "dataset",
    "customer",
    "support",
    "tickets",
    "legal",
    "contracts",
    "medical",
    "notes",
    "radiology",
    "reports",
    "financial",
    "filings",
    "earnings",
    "calls",
    "code",
    "review",
    "python",
    "sql",
    "queries",
    "summaries",
    "headlines",
    "reviews",
    "sentiment",
    "intent",
    "routing",
    "extraction",
    "invoices",
    "receipts",
    "emails",
    "translation",
    "german",
    "french",
    "spanish",
    "chat",
    "assistant",
    "reasoning",
    "math",
    "proofs",
    "retrieval",
    "ranking",
    "classification",
    "toxicity",
    "safety",
    "moderation",
]


SYLLABLES = "ka lo mi ne ru ta vo zi pe sa do fu gi ha je ku la mo ni po".split()  # noqa: SIM905


def _vocabulary(rng: random.Random, size: int = 3000) -> tuple[list[str], list[float]]:
    """Model-card vocabulary with Zipf frequencies; the domain words people search for sit at mid ranks,
    so a query word matches a few percent of the catalogue, as on a real hub, not half of it."""
    invented = sorted({"".join(rng.choices(SYLLABLES, k=rng.randint(2, 4))) for _ in range(size * 2)})[:size]
    rng.shuffle(invented)
    words = invented[:40] + WORDS + invented[40:]
    return words, [1 / (rank + 1) for rank in range(len(words))]


def _weighted(rng: random.Random, pairs: list[tuple[Any, int]]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[-1] for p in pairs])[0]


def _zipf_index(rng: random.Random, size: int, exponent: float = 1.1) -> int:
    weights = [1 / (rank + 1) ** exponent for rank in range(size)]
    return rng.choices(range(size), weights=weights)[0]


def _adapter_row(
    rng: random.Random, adapter_id: int, namespace: tuple[int, str], now: Any, vocabulary: tuple[list[str], list[float]]
) -> dict[str, Any]:
    base, arch = BASES[_zipf_index(rng, len(BASES))]
    method, library, _ = METHODS[rng.choices(range(len(METHODS)), weights=[m[2] for m in METHODS])[0]]
    task = TASKS[_zipf_index(rng, len(TASKS), 0.8)]
    name = f"{base.split('/')[-1].lower()}-{task}-{method}-{adapter_id}"
    description = " ".join(rng.choices(vocabulary[0], weights=vocabulary[1], k=rng.randint(8, 40)))
    updated = now - timedelta(minutes=rng.randint(0, 60 * 24 * 365))
    return {
        "id": adapter_id,
        "namespace_id": namespace[0],
        "name": name,
        "key": name,
        "description": description,
        "license": _weighted(rng, LICENSES),
        "private": rng.random() < 0.03,
        "downloads": int(rng.paretovariate(1.2)) - 1,
        "created_at": updated,
        "updated_at": updated,
        "latest_number": 1,
        "base_model": base,
        "base_model_type": arch,
        "method": method,
        "library": library,
        "task": task,
        "search_text": "\n".join([namespace[1], name, base, task, description]).lower(),
    }


def _document(row: dict[str, Any], tags_of: dict[int, list[str]]) -> str:
    """The full-text document the hub would write (hub/registry/search/fulltext.py), facet words included."""
    facets = {name: row[column.key] for name, column in FACETS.items()}
    return document_text(row.pop("search_text"), facets, tags_of.get(row["id"], []))


def _version_row(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {
        "id": row["id"],
        "adapter_id": row["id"],
        "number": 1,
        "revision": f"{rng.getrandbits(160):040x}",
        "base_model": row["base_model"],
        "base_model_type": row["base_model_type"],
        "method": row["method"],
        "library": row["library"],
        "task": row["task"],
        "rank": 16,
        "trainable_params": 4_194_304,
        "total_bytes": 16_786_432,
        "target_modules": ["q_proj", "v_proj"],
        "config": {},
        "manifest": {},
        "facts": {},
        "card": row["description"],
        "downloads": row["downloads"],
        "created_at": row["updated_at"],
    }


def _namespaces(engine: Engine, count: int, start: int) -> list[tuple[int, str]]:
    rows = [
        {"id": start + i, "name": f"team{start + i}", "key": f"team{start + i}", "kind": "org"} for i in range(count)
    ]
    with engine.begin() as connection:
        connection.execute(insert(Namespace), rows)
    return [(row["id"], row["name"]) for row in rows]


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def add_adapters(engine: Engine, count: int, seed: int = 0) -> None:
    """Append `count` adapters (each with a v1, its `main` ref and 0-3 tags) to a migrated database."""
    rng, now = random.Random(seed), utcnow()
    with engine.connect() as connection:
        first_id = (connection.scalar(select(func.max(Adapter.id))) or 0) + 1
        first_ns = (connection.scalar(select(func.max(Namespace.id))) or 0) + 1
    namespaces = _namespaces(engine, max(1, count // 40), first_ns)
    vocabulary = _vocabulary(random.Random(0))
    adapters = [_adapter_row(rng, first_id + i, rng.choice(namespaces), now, vocabulary) for i in range(count)]
    tags = [{"adapter_id": a["id"], "tag": tag} for a in adapters for tag in rng.sample(TAGS, rng.randint(0, 3))]
    versions = [_version_row(a, rng) for a in adapters]
    refs = [{"adapter_id": a["id"], "name": "main", "version_id": a["id"]} for a in adapters]
    tags_of: dict[int, list[str]] = {}
    for row in tags:
        tags_of.setdefault(row["adapter_id"], []).append(row["tag"])
    texts = [
        {"adapter_id": a["id"], "description": a.pop("description"), "search_text": _document(a, tags_of)}
        for a in adapters
    ]
    tables = ((Adapter, adapters), (AdapterText, texts), (AdapterTag, tags), (Version, versions), (Ref, refs))
    with engine.begin() as connection:
        for model, rows in tables:
            for batch in _batches(rows):
                connection.execute(insert(model), batch)
        _fix_sequences(connection)
    _analyze(engine)


def _analyze(engine: Engine) -> None:
    # A running PostgreSQL's autovacuum gathers statistics within a minute of a bulk load; without them
    # the planner guesses one row per filter and picks per-row plans. Measure the steady state.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))


def _fix_sequences(connection: Any) -> None:
    # Explicit ids do not advance PostgreSQL's sequences; later ordinary inserts would collide.
    if connection.dialect.name != "postgresql":
        return
    for table in ("adapters", "namespaces", "versions", User.__tablename__):
        connection.execute(
            text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), GREATEST((SELECT max(id) FROM {table}), 1))")
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--adapters", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engine = make_engine(args.database_url)
    started = time.perf_counter()
    add_adapters(engine, args.adapters, args.seed)
    print(f"{args.adapters} adapters in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
