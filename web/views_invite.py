"""/invite: administrators and organisation owners invite people; an invitation link creates the account.

The rules (who may invite, single use, expiry) are hub/accounts/invitations.py's; these views only ask.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from hub.accounts.invitations import InvitationService
from hub.accounts.models import User
from hub.accounts.permissions import member_namespaces
from hub.deps import DbSession, public_url
from hub.errors import HubError
from web.auth import CsrfChecked, WebCaller, load_web_caller, set_session_cookie, sign_in
from web.contexts import InvitePage, WelcomePage
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])


@router.get("/invite", response_class=HTMLResponse)
def invite_form(request: Request, session: DbSession, caller: WebCaller) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, _invite_page(session, caller.user))


@router.post("/invite", response_class=HTMLResponse, dependencies=[CsrfChecked])
def invite(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    name: Annotated[str, Form(max_length=96)],
    org: Annotated[str, Form(max_length=96)] = "",
    role: Annotated[str, Form(max_length=8)] = "write",
) -> Response:
    if caller.user is None:
        return login_redirect(request)
    page = _invite_page(session, caller.user)
    try:
        raw, invitation = InvitationService(session).invite(caller, name.strip(), org=org or None, role=role)
    except HubError as error:
        session.rollback()
        page.error = error.message
        return render(request, page, status=error.status)
    page.link, page.invited = f"{public_url(request)}/invite/{raw}", invitation.name
    return render(request, page)


@router.get("/invite/{secret}", response_class=HTMLResponse)
def welcome(request: Request, session: DbSession, secret: str) -> Response:
    invitation = InvitationService(session).pending(secret)
    org = invitation.namespace.name if invitation.namespace else None
    return render(request, WelcomePage(name=invitation.name, org=org, role=invitation.role))


@router.post("/invite/{secret}", response_class=HTMLResponse, dependencies=[CsrfChecked])
def accept(request: Request, session: DbSession, secret: str) -> Response:
    invitation = InvitationService(session).pending(secret)
    org, role = (invitation.namespace.name if invitation.namespace else None), invitation.role
    user, token = InvitationService(session).accept(secret)
    session.flush()
    session_token, expires = sign_in(request, session, token)
    page = WelcomePage(name=user.name, org=org, role=role, token=token, hub_url=public_url(request))
    response = render(request, page, status=201)
    set_session_cookie(request, response, session_token, expires)
    return response


def _invite_page(session: DbSession, user: User) -> InvitePage:
    owned = [namespace.name for namespace, role in member_namespaces(session, user) if role == "owner"]
    return InvitePage(orgs=owned, is_admin=user.is_admin)
