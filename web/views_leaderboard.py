"""The leaderboard page: /leaderboards?task=&base_model=&metric= (a GET form: works without JavaScript)."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hub.api.leaderboards import BASE_ID, SLUG
from hub.deps import DbSession
from hub.registry.evaluations.leaderboard import Board, leaderboard
from web.auth import WebCaller, load_web_caller
from web.contexts import LeaderboardPage
from web.leaderboard_view import leaderboard_rows
from web.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
FIELD_MAX = 200


@router.get("/leaderboards", response_class=HTMLResponse)
def leaderboard_page(request: Request, session: DbSession, caller: WebCaller) -> HTMLResponse:
    asked = {name: request.query_params.get(name, "").strip()[:FIELD_MAX] for name in ("task", "base_model", "metric")}
    page = LeaderboardPage(**asked)
    if not all(asked.values()):
        return render(request, page)
    page.error = _problem(**asked)
    if page.error:
        return render(request, page, status=400)
    page.board = leaderboard(session, Board(**asked), caller)
    page.rows = leaderboard_rows(page.board.entries)
    return render(request, page)


def _problem(task: str, base_model: str, metric: str) -> str:
    """The same forms the API accepts (hub/api/leaderboards.py), said in words."""
    if not re.fullmatch(SLUG, task) or not re.fullmatch(SLUG, metric):
        return "The task and the metric are lower-case ids, like text-classification and accuracy."
    if not re.fullmatch(BASE_ID, base_model):
        return "The base model is a model id, like openai-community/gpt2."
    return ""
