"""Browser sign-in: a session cookie holding a short-lived hub token, and CSRF tokens for every POST form.

Why a token rather than a signed cookie: the hub has no shared signing secret to configure, a signed
cookie cannot be revoked when the user signs out, and several stateless replicas must all accept the
same cookie. A "web sign-in" token row (stored hashed, like every token) gives all three, and the
user sees and can revoke each browser session on /tokens.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request, Response

from hub.accounts.models import User
from hub.accounts.permissions import Caller, anonymous
from hub.accounts.service import AccountService
from hub.deps import DbSession, authenticate
from hub.errors import AuthenticationRequired, Forbidden, InsufficientScope, InvalidToken
from hub.timeutil import as_utc, utcnow

SESSION_COOKIE = "hub_session"
CSRF_COOKIE = "hub_csrf"
CSRF_FIELD = "csrf"
SESSION_TOKEN_NAME = "web sign-in"
SESSION_LIFETIME = timedelta(days=14)


@dataclass(frozen=True)
class Visitor:
    """The signed-in user as pages see it. Plain values, not the ORM row: an error page may render after
    the request's transaction was rolled back, when the row can no longer be read."""

    name: str
    namespace: str
    scopes: frozenset[str]


def load_web_caller(request: Request, session: DbSession) -> Caller:
    """The caller behind the session cookie; an expired or revoked session simply reads as signed out."""
    raw = request.cookies.get(SESSION_COOKIE)
    caller = anonymous(session)
    if raw:
        with contextlib.suppress(InvalidToken):
            caller = AccountService(session).caller(raw)
    user = caller.user
    request.state.visitor = Visitor(user.name, user.namespace.name, caller.scopes) if user else None
    return caller


WebCaller = Annotated[Caller, Depends(load_web_caller)]


def current_user(request: Request) -> Visitor | None:
    return getattr(request.state, "visitor", None)


def signed_in(caller: Caller, scope: str, action: str) -> User:
    """The user, when the browser's sign-in may `action` (the rule is the Caller's; the wording is the web's)."""
    if caller.user is None:
        raise AuthenticationRequired(f"Sign in to {action}.")
    if scope not in caller.scopes:
        held = ", ".join(sorted(caller.scopes))
        raise InsufficientScope(f"You signed in with a token limited to {held}; to {action} needs '{scope}'.")
    return caller.user


def sign_in(request: Request, session: DbSession, raw: str) -> tuple[str, datetime]:
    """Check the pasted token and return a fresh session token for this browser and when it expires.

    The session holds the same scopes (never more), ends when the pasted token expires if that is sooner
    than SESSION_LIFETIME, and is revoked with it. Failures count against the same per-address limiter
    as the API's bearer tokens (hub.deps.authenticate).
    """
    caller = authenticate(request, session, raw)
    accounts = AccountService(session)
    if previous := request.cookies.get(SESSION_COOKIE):
        accounts.revoke_raw_token(previous)  # signing in again replaces this browser's session, never piles up
    expires = caller.grantable_expiry(utcnow() + SESSION_LIFETIME)
    assert caller.user is not None and expires is not None  # authenticated; the lifetime bounds the expiry
    session_token = accounts.create_token(
        caller.user, name=SESSION_TOKEN_NAME, expires_at=expires, scopes=caller.scopes, parent_id=caller.token_id
    )
    return session_token, expires


def set_session_cookie(request: Request, response: Response, raw: str, expires: datetime) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=max(int((as_utc(expires) - utcnow()).total_seconds()), 0),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


def end_session(request: Request, session: DbSession, response: Response) -> None:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        AccountService(session).revoke_raw_token(raw)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def csrf_token(request: Request) -> str:
    """The double-submit token: the value of an HttpOnly cookie that a form echoes in a hidden field.

    Another site can make the browser send the cookie but cannot read it, so it cannot fill in the field.
    """
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


def remember_csrf(request: Request, response: Response) -> None:
    """Send the cookie when this response handed out a new token."""
    new = getattr(request.state, "new_csrf", None)
    if new and not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/"
        )


async def _require_csrf(request: Request) -> None:
    form = await request.form()
    sent, expected = form.get(CSRF_FIELD), request.cookies.get(CSRF_COOKIE)
    if not (isinstance(sent, str) and expected and hmac.compare_digest(sent.encode(), expected.encode())):
        raise Forbidden("This form has expired or was sent from another site; reload the page and try again.")


CsrfChecked = Depends(_require_csrf)
