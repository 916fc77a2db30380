"""FastAPI dependencies: one transaction per request, the storage, and the `Caller` every route asks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller, anonymous
from hub.accounts.service import AccountService
from hub.config import Settings
from hub.errors import InvalidToken, VersionConflict
from hub.registry.catalog.downloads import DownloadCounter
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


def _downloads(request: Request) -> DownloadCounter:
    return request.app.state.download_counter


DbSession = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]
StorageDep = Annotated[BlobStorage, Depends(_storage)]
LimitsDep = Annotated[Limits, Depends(_limits)]
DownloadsDep = Annotated[DownloadCounter, Depends(_downloads)]


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or, behind a proxy listed in HUB_TRUSTED_PROXIES, the last address
    that proxy appended to X-Forwarded-For (anything before it was written by the client and proves nothing)."""
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxies
    if peer not in trusted:
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",") if part.strip()]
    untrusted = [address for address in forwarded if address not in trusted]
    return untrusted[-1] if untrusted else peer


def authenticate(request: Request, session: Session, raw: str) -> Caller:
    """The caller a token stands for. Only failures count against the per-address limiter, so a valid
    token is never refused because somebody else at the same address (or behind the same proxy) guessed."""
    try:
        return AccountService(session).caller(raw)
    except InvalidToken as error:
        request.app.state.auth_limiter.fail(client_address(request))
        raise InvalidToken(f"{error.message} {where_to_get_a_token(request)}") from None


def public_url(request: Request) -> str:
    """The hub's address as clients reach it: HUB_PUBLIC_URL when set (behind a proxy the request's own address
    is an internal one), else the request's. Links the hub hands out (pages, invitations, errors) start here."""
    return (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")


def where_to_get_a_token(request: Request) -> str:
    return f"Make a new one at {public_url(request)}/tokens (signed in), or ask this hub's administrator for one."


def _caller(request: Request, session: DbSession, authorization: Annotated[str | None, Header()] = None) -> Caller:
    raw = bearer_token(authorization)
    return anonymous(session) if raw is None else authenticate(request, session, raw)


def _authenticated(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    caller.require_user("this action")
    return caller


def _reader(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    caller.require_scope("read", "reading")
    return caller


def _writer(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    caller.require_scope("write", "this change")
    return caller


def _admin(caller: Annotated[Caller, Depends(_caller)]) -> Caller:
    caller.require_admin("this administrative action")
    return caller


# Every route asks one of these; what each role and scope allows is decided in hub/accounts/permissions.py.
AnyCaller = Annotated[Caller, Depends(_caller)]  # anonymous or not
SignedIn = Annotated[Caller, Depends(_authenticated)]
Reader = Annotated[Caller, Depends(_reader)]
Writer = Annotated[Caller, Depends(_writer)]
Admin = Annotated[Caller, Depends(_admin)]
