"""GET /api/leaderboards: adapters for one (task, base model) ranked by a metric, beside the base's own score."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from hub.api.caching import MOVING, json_answer
from hub.api.render import adapter_id
from hub.deps import AnyCaller, DbSession
from hub.registry.catalog.sizes import adapted_share
from hub.registry.evaluations.leaderboard import MAX_ENTRIES, Board, Entry, Leaderboard, leaderboard
from hub.registry.evaluations.store import evaluation_json
from sdk.formats.search_surface import METRIC_ID

router = APIRouter(prefix="/api", tags=["evaluations"])
SLUG = f"^{METRIC_ID}$"
BASE_ID = r"^[A-Za-z0-9_][A-Za-z0-9_./-]{0,199}$"


@router.head("/leaderboards", include_in_schema=False)
@router.get("/leaderboards", summary="Adapters for one task and base model, ranked by a metric")
def get_leaderboard(
    request: Request,
    session: DbSession,
    viewer: AnyCaller,
    task: Annotated[str, Query(pattern=SLUG, description="The evaluated task, e.g. text-classification")],
    base_model: Annotated[str, Query(pattern=BASE_ID, description="The base model id (well-known aliases match)")],
    metric: Annotated[str, Query(pattern=SLUG, description="accuracy, f1, wer... (loss-like metrics: lowest first)")],
    limit: Annotated[int, Query(ge=1, le=MAX_ENTRIES)] = MAX_ENTRIES,
) -> Response:
    board = leaderboard(session, Board(task, base_model, metric), viewer, limit)
    return json_answer(request, leaderboard_json(board), cache=MOVING)


def leaderboard_json(board: Leaderboard) -> dict[str, Any]:
    return {
        "task": board.board.task,
        "base_model": board.board.base_model,
        "metric": board.board.metric,
        "lower_is_better": board.lower_is_better,
        "baselines": [evaluation_json(row) for row in board.baselines],
        "entries": [entry_json(entry) for entry in board.entries],
    }


def entry_json(entry: Entry) -> dict[str, Any]:
    version = entry.version
    return {
        "rank": entry.rank,
        "adapter": adapter_id(entry.adapter),
        "version": f"v{version.number}",
        "revision": version.revision,
        "method": version.method,
        "total_bytes": version.total_bytes,
        "trainable_params": version.trainable_params,
        "share_of_adapted_weights": adapted_share(version.trainable_params, (version.facts or {}).get("modules") or {}),
        "value": entry.score.value,
        "evaluation": evaluation_json(entry.score),
        "baseline_value": entry.baseline.value if entry.baseline else None,
        "delta": entry.delta,
    }
