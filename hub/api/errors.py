"""Render every error as {"error": {"code", "message"}} with an X-Error-Code header; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hub.errors import HubError, InternalError, InvalidRequest, MethodNotAllowed, NotFound, StorageUnavailable
from hub.storage import BlobNotFound, StorageError

log = logging.getLogger("hub")


def error_response(error: HubError, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"code": error.code, "message": error.message}}
    return JSONResponse(body, status_code=error.status, headers={"X-Error-Code": error.code, **(headers or {})})


async def _hub_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HubError)
    return error_response(error, error.headers)


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = "; ".join(_describe(problem) for problem in error.errors()[:5])
    return error_response(InvalidRequest(f"The request is not valid: {problems}."))


def _describe(problem: dict) -> str:
    where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    return f"{where or 'body'}: {problem.get('msg', 'invalid')}"


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        return error_response(MethodNotAllowed("This route does not take that HTTP method."))
    return error_response(NotFound("No such route. The API is described at /docs."))


async def _storage_error(_request: Request, error: Exception) -> JSONResponse:
    # A blob that a committed version references but storage lacks is data loss: say so loudly.
    kind = "is missing a blob it should have" if isinstance(error, BlobNotFound) else "did not answer"
    log.error("blob storage %s: %s", kind, error)
    return error_response(StorageUnavailable(f"The blob store {kind}; nothing was changed. Retry later."))


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return error_response(InternalError("An unexpected error occurred; it has been logged."))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(Exception, _unexpected)
