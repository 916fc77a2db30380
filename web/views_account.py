"""Sign in with a token, sign out, and see, create and revoke your tokens."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.accounts.models import User
from hub.accounts.service import AccountService
from hub.deps import DbSession
from hub.errors import InvalidToken
from hub.security import hash_token
from web.auth import (
    SESSION_COOKIE,
    CsrfChecked,
    WebCaller,
    end_session,
    load_web_caller,
    set_session_cookie,
    sign_in,
    signed_in,
)
from web.contexts import LoginPage, TokensPage
from web.templating import render
from web.token_form import expiry_from_days

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
TokenField = Annotated[str, Form(max_length=200)]
NextField = Annotated[str, Form(max_length=500)]


def safe_next(target: str) -> str:
    """Only a path on this site: '//evil.example' and 'https://...' would turn sign-in into an open redirect."""
    ok = target.startswith("/") and not target.startswith(("//", "/\\")) and not any(c in target for c in "\r\n\t")
    return target if ok else "/"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, LoginPage(next=safe_next(next)))


@router.post("/login", dependencies=[CsrfChecked])
def login(request: Request, session: DbSession, token: TokenField, next: NextField = "/") -> Response:
    try:
        raw, expires = sign_in(request, session, token.strip())
    except InvalidToken as error:
        return render(request, LoginPage(next=safe_next(next), error=error.message), status=401)
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, raw, expires)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: DbSession) -> Response:
    response = RedirectResponse("/", status_code=303)
    end_session(request, session, response)
    return response


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, session: DbSession, caller: WebCaller) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, _tokens(request, session, caller.user))


@router.post("/tokens", response_class=HTMLResponse, dependencies=[CsrfChecked])
def create_token(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    name: Annotated[str, Form(max_length=64)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
    expires_days: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    owner = signed_in(caller, "write", "create tokens")
    # The same rule as the API: never a scope or a lifetime the browser's own sign-in does not hold.
    label = name.strip() or "created on the web"
    expires = expiry_from_days(expires_days)
    raw, _ = AccountService(session).mint(caller, name=label, scopes=scopes or ["read"], expires_at=expires)
    session.flush()  # the new token must be in the list rendered below
    return render(request, _tokens(request, session, owner, new_token=raw))


@router.post("/tokens/{token_id}/revoke", dependencies=[CsrfChecked])
def revoke_token(request: Request, session: DbSession, caller: WebCaller, token_id: int) -> Response:
    signed_in(caller, "write", "revoke tokens")
    AccountService(session).revoke_token(caller, token_id)
    return RedirectResponse("/tokens", status_code=303)


def login_redirect(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _tokens(request: Request, session: DbSession, user: User, new_token: str | None = None) -> TokensPage:
    raw = request.cookies.get(SESSION_COOKIE)
    return TokensPage(
        tokens=AccountService(session).tokens(user),
        current_hash=hash_token(raw) if raw else None,
        new_token=new_token,
    )
