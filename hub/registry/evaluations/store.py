"""The evaluations table's one writer (at publish, beside the version) and its readers for one version."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.registry.evaluations.models import Evaluation
from hub.registry.evaluations.parse import CARD_PATH, Parsed, is_eval_file, read_evaluations
from hub.registry.models import Version
from sdk.formats.search_surface import base_model_ids


def evaluation_texts(texts: dict[str, str]) -> dict[str, str]:
    """The uploaded text files evaluations are read from: the card and .eval_results/*.yaml."""
    return {path: text for path, text in texts.items() if path == CARD_PATH or is_eval_file(path)}


def record_evaluations(session: Session, version: Version, texts: dict[str, str]) -> list[str]:
    """Store the rows the version's card (as stored) and eval files state; answer the warnings."""
    texts = {**texts, CARD_PATH: version.card}  # the card given as `description` counts as README.md
    parsed: Parsed = read_evaluations(texts, base_models=base_model_ids(version.base_model), default_task=version.task)
    for position, row in enumerate(parsed.rows):
        fields = asdict(row)
        fields["stated_on"] = fields.pop("date")
        session.add(Evaluation(version_id=version.id, position=position, verified=False, **fields))
    return parsed.warnings


def evaluations_of(session: Session, version: Version) -> list[Evaluation]:
    query = select(Evaluation).where(Evaluation.version_id == version.id).order_by(Evaluation.position)
    return list(session.scalars(query))


def evaluation_json(row: Evaluation) -> dict[str, Any]:
    return {
        "task": row.task,
        "dataset": {
            "id": row.dataset_id,
            "name": row.dataset_name,
            "config": row.dataset_config,
            "split": row.dataset_split,
            "revision": row.dataset_revision,
        },
        "metric": {"type": row.metric, "name": row.metric_name, "value": row.value},
        "source": {"name": row.source_name, "url": row.source_url, "file": row.origin},
        "date": row.stated_on.isoformat() if row.stated_on else None,
        "baseline": row.baseline,
        "verified": row.verified,
    }
