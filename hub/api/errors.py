"""Render every error as {"error": {"code", "message"}} with an X-Error-Code header; never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.errors import (
    DatabaseUnavailable,
    HubError,
    InternalError,
    InvalidName,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    StorageUnavailable,
)
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
    if error.status_code == 400:
        # Starlette and FastAPI raise 400 for one thing: a form or body they cannot parse (malformed multipart,
        # a field over the parser's size limit, too many fields). The request is wrong, not the route.
        return error_response(InvalidRequest(f"The request body cannot be read: {_detail(error)}"))
    return error_response(NotFound("No such route. The API is described at /docs."))


def _detail(error: HTTPException) -> str:
    detail = str(error.detail).rstrip(".")
    return f"{detail}." if detail and detail != "Bad Request" else "it is not well-formed."


async def _storage_error(_request: Request, error: Exception) -> JSONResponse:
    # A blob that a committed version references but storage lacks is data loss: say so loudly.
    kind = "is missing a blob it should have" if isinstance(error, BlobNotFound) else "did not answer"
    log.error("blob storage %s: %s", kind, error)
    return error_response(StorageUnavailable(f"The blob store {kind}; nothing was changed. Retry later."))


_REFUSED_VALUE = "The request holds a value the database cannot take (a NUL character or a number out of range)."
_DATABASE_DOWN = "The database did not answer or dropped the connection; the request was not completed. Retry later."


async def _database_error(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, DataError):
        # PostgreSQL refuses some values SQLite takes: NUL in text, integers past its column types.
        log.warning("the database refused a value from the request: %s", getattr(error, "orig", error))
        return error_response(InvalidRequest(_REFUSED_VALUE))
    lost = isinstance(error, OperationalError | InterfaceError | DisconnectionError)
    if lost or getattr(error, "connection_invalidated", False):
        log.error("database unavailable: %s", getattr(error, "orig", error))
        return error_response(DatabaseUnavailable(_DATABASE_DOWN))
    return await _unexpected(request, error)


async def _overflow_error(request: Request, error: Exception) -> JSONResponse:
    # SQLite's driver refuses an integer past 64 bits with a bare OverflowError (SQLAlchemy does not wrap it),
    # where PostgreSQL raises DataError for the same value: answered alike, whatever the route.
    if "SQLite INTEGER" in str(error):
        log.warning("the database refused a value from the request: %s", error)
        return error_response(InvalidRequest(_REFUSED_VALUE))
    return await _unexpected(request, error)


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return error_response(InternalError("An unexpected error occurred; it has been logged."))


class RefuseNulCharacters:
    """ASGI middleware: a NUL in the URL is refused the same way on every route and engine.

    No name, revision, file path or query value the hub serves can hold one, but PostgreSQL refuses
    NUL in any text parameter where SQLite just finds nothing: refusing it up front makes both agree.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        error: HubError | None = None
        if scope["type"] == "http" and "\x00" in scope["path"]:
            error = InvalidName("The URL path holds a NUL character (%00); no name, revision or file path has one.")
        elif scope["type"] == "http" and b"%00" in scope["query_string"]:
            error = InvalidRequest("The URL query holds a NUL character (%00); no search or parameter may have one.")
        if error is None:
            await self.app(scope, receive, send)
        else:
            await error_response(error)(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    app.add_middleware(RefuseNulCharacters)
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(StorageError, _storage_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(DisconnectionError, _database_error)
    app.add_exception_handler(OverflowError, _overflow_error)
    app.add_exception_handler(Exception, _unexpected)
