"""FastAPI dependencies: one transaction per request, the storage, the current user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.service import AccountService
from hub.config import Settings
from hub.errors import AuthenticationRequired, VersionConflict
from hub.registry.limits import Limits
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


def _optional_user(session: DbSession, authorization: Annotated[str | None, Header()] = None) -> User | None:
    raw = bearer_token(authorization)
    return AccountService(session).authenticate(raw) if raw else None


def _required_user(user: Annotated[User | None, Depends(_optional_user)]) -> User:
    if user is None:
        raise AuthenticationRequired("This action needs a token: send `Authorization: Bearer <token>`.")
    return user


OptionalUser = Annotated[User | None, Depends(_optional_user)]
CurrentUser = Annotated[User, Depends(_required_user)]
