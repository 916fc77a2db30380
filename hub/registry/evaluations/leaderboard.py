"""A leaderboard per (task, base model, metric): the adapters visible to the caller, ranked by their score (the
rule of hub/registry/evaluations/scores.py, picked here with the row that gives it), each beside the base's own
score on the same dataset when a visible version publishes one as a baseline row (parse.py says how a row is
recognised as one), and the delta.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, lazyload, selectinload

from hub.accounts.permissions import Caller
from hub.registry.evaluations.models import Evaluation
from hub.registry.evaluations.scores import lower_is_better
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
    baselines = _baselines(session, board, caller)
    entries = [
        Entry(rank, adapter, version, row, baselines.get(dataset_key(row)))
        for rank, (row, version, adapter) in enumerate(_ranked(session, board, caller, limit), start=1)
    ]
    return Leaderboard(board, lower_is_better(board.metric), entries, list(baselines.values()))


def _current_rows(board: Board, caller: Caller | None, *columns: Any, baseline: bool) -> Any:
    """`columns` of the (task, metric) rows of the latest live versions of live adapters the caller may see, for
    this base model (under any of its well-known names)."""
    return (
        select(*columns)
        .select_from(Evaluation)
        .join(Version, Version.id == Evaluation.version_id)
        .join(Adapter, (Adapter.id == Version.adapter_id) & (Adapter.current_number == Version.number))
        .where(
            Evaluation.task == board.task,
            Evaluation.metric == board.metric,
            Evaluation.baseline.is_(baseline),
            Adapter.is_live,
            visible_to(caller),
            Adapter.base_model.in_(base_model_ids(board.base_model)),
        )
    )


def _ranked(
    session: Session, board: Board, caller: Caller | None, limit: int
) -> list[tuple[Evaluation, Version, Adapter]]:
    """Each adapter's best row (the first stated among equals), best first; ties by adapter id. One query: the
    per-adapter pick is a window function (SQLite 3.25+ and PostgreSQL alike)."""
    best_first = Evaluation.value.asc() if lower_is_better(board.metric) else Evaluation.value.desc()
    pick = func.row_number().over(partition_by=Version.adapter_id, order_by=(best_first, Evaluation.position))
    candidates = _current_rows(board, caller, Evaluation.id, pick.label("pick"), baseline=False).subquery()
    statement = (
        select(Evaluation, Version, Adapter)
        .join(candidates, candidates.c.id == Evaluation.id)
        .join(Version, Version.id == Evaluation.version_id)
        .join(Adapter, Adapter.id == Version.adapter_id)
        .where(candidates.c.pick == 1)
        .order_by(best_first, Adapter.id)
        .limit(limit)
        .options(*_light_version(), selectinload(Adapter.namespace), lazyload(Adapter.text))
    )
    return [(row, version, adapter) for row, version, adapter in session.execute(statement)]


def _light_version() -> list[Any]:
    """What a leaderboard shows of a version: not its config, tensor manifest or card (the wide columns)."""
    return [defer(Version.config), defer(Version.manifest), defer(Version.card), defer(Version.target_modules)]


def _baselines(session: Session, board: Board, caller: Caller | None) -> dict[DatasetKey, Evaluation]:
    """The base's own score per dataset: from the most recently published visible version that states it."""
    statement = _current_rows(board, caller, Evaluation, baseline=True)
    found: dict[DatasetKey, Evaluation] = {}
    for row in session.scalars(statement.order_by(Version.created_at.desc(), Evaluation.position)):
        found.setdefault(dataset_key(row), row)
    return found
