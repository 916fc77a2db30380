"""An adapter's score on one (task, metric): the best non-baseline row of its latest live version, as SQL.

The one spelling that sort=metric:NAME (hub/registry/search/query.py) and the leaderboard rank by.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from hub.registry.evaluations.models import Evaluation
from hub.registry.models import Adapter, Version
from sdk.formats.search_surface import LOWER_IS_BETTER

# Where adapters without a score sort (last either way); far beyond any stated score, within a double.
NO_SCORE = 1e300


def lower_is_better(metric: str) -> bool:
    return metric in LOWER_IS_BETTER


def best_score(task: str, metric: str) -> Any:
    """A correlated scalar subquery on `adapters`: NULL when the latest version states no such score."""
    best = func.min if lower_is_better(metric) else func.max
    return (
        select(best(Evaluation.value))
        .join(Version, Version.id == Evaluation.version_id)
        .where(
            Evaluation.task == task,
            Evaluation.metric == metric,
            Evaluation.baseline.is_(False),
            Version.adapter_id == Adapter.id,
            Version.number == Adapter.current_number,
        )
        .correlate(Adapter)
        .scalar_subquery()
    )


def sortable_score(task: str, metric: str) -> Any:
    """best_score with NULL replaced by a value that sorts last in the metric's own direction."""
    missing = NO_SCORE if lower_is_better(metric) else -NO_SCORE
    return func.coalesce(best_score(task, metric), missing)
