"""Mounts the web UI: static files, the page routers (fixed paths first, /{namespace}/{name} last), HTML errors."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from web import (
    views_account,
    views_adapter,
    views_browse,
    views_invite,
    views_keys,
    views_leaderboard,
    views_orgs,
    views_publish,
    views_settings,
    views_webhooks,
)
from web.errors import install_html_errors
from web.templating import WEB_DIR

# Fixed first segments first; views_settings' /{ns}/{name}/settings before views_adapter's /{ns}/{name} pages.
ROUTERS = (
    views_browse,
    views_leaderboard,
    views_account,
    views_invite,
    views_publish,
    views_webhooks,
    views_keys,
    views_orgs,
    views_settings,
    views_adapter,
)


def install_web(app: FastAPI) -> None:
    """Call after the API routers: the catch-all /{namespace}/{name} pages must match last."""
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    for module in ROUTERS:
        app.include_router(module.router)
    install_html_errors(app)
