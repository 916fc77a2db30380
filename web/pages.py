"""HTML pages. Routes call registry services and render templates; they never build queries."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from hub.api.render import adapter_summary
from hub.deps import DbSession
from hub.registry.search import SearchQuery, search

WEB_DIR = Path(__file__).parent
templates = Jinja2Templates(directory=WEB_DIR / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: DbSession) -> HTMLResponse:
    popular = search(session, SearchQuery(sort="downloads", limit=10))
    newest = search(session, SearchQuery(sort="recent", limit=10))
    context = {
        "popular": [adapter_summary(a) for a in popular.adapters],
        "newest": [adapter_summary(a) for a in newest.adapters],
        "total": popular.total,
        "facets": popular.facets,
    }
    return templates.TemplateResponse(request, "home.html", context)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    app.include_router(router)
