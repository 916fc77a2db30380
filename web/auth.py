"""Browser sign-in: a session cookie holding a short-lived hub token, and CSRF tokens for every POST form.

Why a token rather than a signed cookie: the hub has no shared signing secret to configure, a signed
cookie cannot be revoked when the user signs out, and several stateless replicas must all accept the
same cookie. A "web sign-in" token row (stored hashed, like every token) gives all three, and the
user sees and can revoke each browser session on /tokens.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Response

from hub.accounts.models import User
from hub.accounts.service import AccountService
from hub.deps import DbSession
from hub.errors import AuthenticationRequired, Forbidden, InsufficientScope, InvalidToken
from hub.timeutil import utcnow

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


def load_web_user(request: Request, session: DbSession) -> User | None:
    """The signed-in user, or None; an expired or revoked session simply reads as signed out."""
    raw = request.cookies.get(SESSION_COOKIE)
    user, scopes = None, frozenset[str]()
    if raw:
        try:
            user, scopes = AccountService(session).authenticate_with_scopes(raw)
        except InvalidToken:
            user = None
    request.state.visitor = Visitor(user.name, user.namespace.name, scopes) if user else None
    return user


WebUser = Annotated[User | None, Depends(load_web_user)]


def current_user(request: Request) -> Visitor | None:
    return getattr(request.state, "visitor", None)


def viewer(request: Request, user: User | None) -> User | None:
    """Who private adapters are shown to: the user, if the sign-in token may read."""
    visitor = current_user(request)
    return user if visitor and "read" in visitor.scopes else None


def require_scope(request: Request, user: User | None, scope: str, action: str) -> User:
    visitor = current_user(request)
    if user is None or visitor is None:
        raise AuthenticationRequired(f"Sign in to {action}.")
    if scope not in visitor.scopes:
        held = ", ".join(sorted(visitor.scopes))
        raise InsufficientScope(f"You signed in with a token limited to {held}; to {action} needs '{scope}'.")
    return user


def sign_in(request: Request, session: DbSession, raw: str) -> str:
    """Check the pasted token and return a fresh token for this browser, with the same scopes (never more).

    Failed attempts count against the same per-address limiter as the API's bearer tokens.
    """
    address = request.client.host if request.client else "unknown"
    request.app.state.auth_limiter.check(address)
    accounts = AccountService(session)
    try:
        user, scopes = accounts.authenticate_with_scopes(raw)
    except InvalidToken:
        request.app.state.auth_limiter.record_failure(address)
        raise
    if previous := request.cookies.get(SESSION_COOKIE):
        accounts.revoke_raw_token(previous)  # signing in again replaces this browser's session, never piles up
    expires = utcnow() + SESSION_LIFETIME
    return accounts.create_token(user, name=SESSION_TOKEN_NAME, expires_at=expires, scopes=scopes)


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=int(SESSION_LIFETIME.total_seconds()),
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
