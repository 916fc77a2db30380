"""Errors as HTML pages for browsers, in the site's style; the API and API clients keep their JSON.

The JSON handlers from hub/api/errors.py still decide status, code and message (and log unexpected
errors); this only re-dresses their answer when a browser asked for a page, so the two never disagree.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import WebSocketRequestValidationError
from fastapi.responses import JSONResponse, Response

from web.contexts import ErrorPage
from web.templating import render

Handler = Callable[[Request, Exception], Awaitable[Response]]
# Paths whose clients are programs (the API, Hugging Face clients' /resolve/ downloads), even if they accept HTML.
_MACHINE_PREFIXES = ("/api/", "/api")
_MACHINE_SEGMENTS = ("/resolve/",)


def wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith(_MACHINE_PREFIXES) or any(segment in path for segment in _MACHINE_SEGMENTS):
        return False
    return "text/html" in request.headers.get("accept", "")


def _html_or(json_handler: Handler) -> Handler:
    async def handle(request: Request, error: Exception) -> Response:
        response = await json_handler(request, error)
        if not wants_html(request) or not isinstance(response, JSONResponse):
            return response
        body = json.loads(bytes(response.body))["error"]
        page = ErrorPage(status=response.status_code, code=body["code"], message=body["message"])
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith(("x-", "retry-after"))}
        return render(request, page, status=response.status_code, headers=headers)

    return handle


def install_html_errors(app: FastAPI) -> None:
    """Wrap every JSON error handler already installed (call after hub.api.errors.install_error_handlers)."""
    for kind, handler in list(app.exception_handlers.items()):
        if kind is not WebSocketRequestValidationError:  # the hub serves no websockets; that one sends no page
            app.add_exception_handler(kind, _html_or(handler))
