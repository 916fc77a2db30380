"""FastAPI dependencies: one transaction per request, the storage, the caller (user + token scopes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.service import AccountService
from hub.config import Settings
from hub.errors import AuthenticationRequired, InsufficientScope, InvalidToken, VersionConflict
from hub.registry.publish.limits import Limits
from hub.security import bearer_token
from hub.storage import BlobStorage


def _session(request: Request) -> Iterator[Session]:
    """Commit when the route returns, roll back when it raises; the commit happens BEFORE the response
    is sent (scope="function" below), so a failed commit is never reported as a success."""
    session = request.app.state.session_factory()
    try:
        yield session
        session.commit()
    except IntegrityError:
        session.rollback()
        raise VersionConflict("Another request changed the same adapter at the same time; retry.") from None
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _storage(request: Request) -> BlobStorage:
    return request.app.state.storage


def _limits(request: Request) -> Limits:
    return request.app.state.limits


DbSession = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]
StorageDep = Annotated[BlobStorage, Depends(_storage)]
LimitsDep = Annotated[Limits, Depends(_limits)]


@dataclass(frozen=True)
class Caller:
    """An authenticated request: the user and what its token allows (read, write, admin)."""

    user: User
    scopes: frozenset[str]

    def require(self, scope: str, action: str) -> User:
        if scope not in self.scopes:
            raise InsufficientScope(f"This token has the scopes {sorted(self.scopes)}; {action} needs '{scope}'.")
        return self.user


def _optional_caller(
    request: Request, session: DbSession, authorization: Annotated[str | None, Header()] = None
) -> Caller | None:
    raw = bearer_token(authorization)
    if raw is None:
        return None
    address = request.client.host if request.client else "unknown"
    limiter = request.app.state.auth_limiter
    limiter.check(address)
    try:
        user, scopes = AccountService(session).authenticate_with_scopes(raw)
    except InvalidToken:
        limiter.record_failure(address)
        raise
    return Caller(user, scopes)


def _required_caller(caller: Annotated[Caller | None, Depends(_optional_caller)]) -> Caller:
    if caller is None:
        raise AuthenticationRequired("This action needs a token: send `Authorization: Bearer <token>`.")
    return caller


def _optional_user(caller: Annotated[Caller | None, Depends(_optional_caller)]) -> User | None:
    return caller.user if caller else None


def _reader(caller: Annotated[Caller, Depends(_required_caller)]) -> User:
    return caller.require("read", "reading")


def _writer(caller: Annotated[Caller, Depends(_required_caller)]) -> User:
    return caller.require("write", "this change")


def _admin(caller: Annotated[Caller, Depends(_required_caller)]) -> User:
    user = caller.require("admin", "this administrative action")
    if not user.is_admin:
        raise InsufficientScope(f"{user.name!r} is not an administrator.")
    return user


OptionalUser = Annotated[User | None, Depends(_optional_user)]
CurrentUser = Annotated[User, Depends(_reader)]
WriteUser = Annotated[User, Depends(_writer)]
AdminUser = Annotated[User, Depends(_admin)]
