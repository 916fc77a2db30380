"""A leaderboard per (task, base model, metric): the adapters visible to the caller, ranked by their score
(hub/registry/evaluations/scores.py), each beside the base's own score on the same dataset when a visible
version publishes one as a baseline row (parse.py says how a row is recognised as one), and the delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.accounts.permissions import Caller
from hub.registry.evaluations.models import Evaluation
from hub.registry.evaluations.scores import best_score, lower_is_better
from hub.registry.models import Adapter, Version
from hub.registry.visibility import visible_to
from sdk.formats.search_surface import base_model_ids

MAX_ENTRIES = 100
DatasetKey = tuple[str, str | None, str | None]  # dataset id, config, split: a score compares only within one


@dataclass(frozen=True)
class Board:
    task: str
    base_model: str
    metric: str


@dataclass
class Entry:
    rank: int
    adapter: Adapter
    version: Version
    score: Evaluation
    baseline: Evaluation | None

    @property
    def delta(self) -> float | None:
        return None if self.baseline is None else self.score.value - self.baseline.value


@dataclass
class Leaderboard:
    board: Board
    lower_is_better: bool
    entries: list[Entry]
    baselines: list[Evaluation]  # one per dataset, newest published first


def dataset_key(row: Evaluation) -> DatasetKey:
    return (row.dataset_id, row.dataset_config, row.dataset_split)


def leaderboard(session: Session, board: Board, caller: Caller | None, limit: int = MAX_ENTRIES) -> Leaderboard:
    ranked = _ranked_adapters(session, board, caller, limit)
    rows = _score_rows(session, board, [adapter.id for adapter, _ in ranked])
    baselines = _baselines(session, board, caller)
    entries = [
        Entry(rank, adapter, rows[adapter.id][0], rows[adapter.id][1], baselines.get(dataset_key(rows[adapter.id][1])))
        for rank, (adapter, _) in enumerate(ranked, start=1)
    ]
    return Leaderboard(board, lower_is_better(board.metric), entries, list(baselines.values()))


def _scope(board: Board, caller: Caller | None) -> list[Any]:
    """Live adapters the caller may see, for this base model (under any of its well-known names)."""
    return [Adapter.is_live, visible_to(caller), Adapter.base_model.in_(base_model_ids(board.base_model))]


def _ranked_adapters(session: Session, board: Board, caller: Caller | None, limit: int) -> list[tuple[Adapter, float]]:
    score = best_score(board.task, board.metric).label("score")
    order = score.asc() if lower_is_better(board.metric) else score.desc()
    statement = (
        select(Adapter, score)
        .where(*_scope(board, caller), score.is_not(None))
        .order_by(order, Adapter.id)
        .limit(limit)
        .options(selectinload(Adapter.namespace))
    )
    return [(adapter, value) for adapter, value in session.execute(statement)]


def _current_rows(board: Board) -> Any:
    """Evaluation rows of this (task, metric) on adapters' latest live versions, with the version."""
    return (
        select(Evaluation, Version)
        .join(Version, Version.id == Evaluation.version_id)
        .join(Adapter, (Adapter.id == Version.adapter_id) & (Adapter.current_number == Version.number))
        .where(Evaluation.task == board.task, Evaluation.metric == board.metric)
    )


def _score_rows(session: Session, board: Board, adapter_ids: list[int]) -> dict[int, tuple[Version, Evaluation]]:
    """For each ranked adapter, the row that gives its score (the first stated, among equal best values)."""
    statement = _current_rows(board).where(Adapter.id.in_(adapter_ids), Evaluation.baseline.is_(False))
    best: dict[int, tuple[Version, Evaluation]] = {}
    for row, version in session.execute(statement.order_by(Evaluation.position)):
        held = best.get(version.adapter_id)
        if held is None or _better(board.metric, row.value, held[1].value):
            best[version.adapter_id] = (version, row)
    return best


def _better(metric: str, value: float, than: float) -> bool:
    return value < than if lower_is_better(metric) else value > than


def _baselines(session: Session, board: Board, caller: Caller | None) -> dict[DatasetKey, Evaluation]:
    """The base's own score per dataset: from the most recently published visible version that states it."""
    statement = _current_rows(board).where(*_scope(board, caller), Evaluation.baseline.is_(True))
    found: dict[DatasetKey, Evaluation] = {}
    for row, _ in session.execute(statement.order_by(Version.created_at.desc(), Evaluation.position)):
        found.setdefault(dataset_key(row), row)
    return found
