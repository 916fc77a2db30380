"""Organisations on the web: create one (/orgs/new) and manage its members (/settings/{org}/members).

The rules (who may create, who manages members, the last owner stays) are OrgService's; these views ask it and
show its answer. Fixed first segments ("orgs", "settings" are reserved namespace names), mounted before
views_adapter. Every form carries the CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hub.accounts.orgs import OrgService
from hub.accounts.permissions import ROLE_NAMES, Caller, Role
from hub.accounts.service import AccountService
from hub.deps import DbSession
from hub.errors import Forbidden, HubError, NamespaceNotFound
from web.auth import CsrfChecked, WebCaller, load_web_caller
from web.contexts import NewOrgPage, OrgMembersPage
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
MEMBERS = "/settings/{org}/members"
NameField = Annotated[str, Form(max_length=96)]
RoleField = Annotated[str, Form(max_length=8)]


@router.get("/orgs/new", response_class=HTMLResponse)
def new_org_form(request: Request, caller: WebCaller) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, NewOrgPage())


@router.post("/orgs/new", response_class=HTMLResponse, dependencies=[CsrfChecked])
def create_org(request: Request, session: DbSession, caller: WebCaller, name: NameField = "") -> Response:
    if caller.user is None:
        return login_redirect(request)
    try:
        org = OrgService(session).create(caller, name.strip())
    except HubError as error:
        session.rollback()
        return render(request, NewOrgPage(name=name, error=error.message), status=error.status)
    return _back(org.name)


@router.get(MEMBERS, response_class=HTMLResponse)
def members_page(request: Request, session: DbSession, caller: WebCaller, org: str) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, _page(session, caller, org))


@router.post(MEMBERS, response_class=HTMLResponse, dependencies=[CsrfChecked])
def add_member(
    request: Request, session: DbSession, caller: WebCaller, org: str, name: NameField = "", role: RoleField = "write"
) -> Response:
    def change() -> str:
        member = AccountService(session).user(name.strip())
        OrgService(session).set_member(caller, org, member, role)
        return f"{member.name} is now {role} of {org}."

    return _act(request, session, caller, org, change, form={"name": name, "role": role})


@router.post(MEMBERS + "/{member}/role", response_class=HTMLResponse, dependencies=[CsrfChecked])
def change_role(
    request: Request, session: DbSession, caller: WebCaller, org: str, member: str, role: RoleField = ""
) -> Response:
    def change() -> str:
        OrgService(session).set_member(caller, org, AccountService(session).user(member), role)
        return f"{member} is now {role} of {org}."

    return _act(request, session, caller, org, change)


@router.post(MEMBERS + "/{member}/remove", response_class=HTMLResponse, dependencies=[CsrfChecked])
def remove_member(request: Request, session: DbSession, caller: WebCaller, org: str, member: str) -> Response:
    def change() -> str:
        OrgService(session).remove_member(caller, org, AccountService(session).user(member))
        return f"{member} is no longer a member of {org}."

    leaving = caller.user is not None and caller.user.name == member  # their members page is no longer theirs
    return _act(request, session, caller, org, change, left=leaving)


def _act(
    request: Request,
    session: Session,
    caller: Caller,
    org: str,
    change: Callable[[], str],
    *,
    form: dict[str, str] | None = None,
    left: bool = False,
) -> Response:
    """Run one OrgService change; a refusal rolls back and shows the service's message with its status."""
    if caller.user is None:
        return login_redirect(request)
    try:
        notice = change()
        session.flush()  # the list rendered below must show the change
    except HubError as error:
        session.rollback()
        page = _page(session, caller, org, error=error.message, form=form or {})
        return render(request, page, status=error.status)
    if left:
        return RedirectResponse(f"/{quote(org)}", status_code=303)
    return render(request, _page(session, caller, org, notice=notice))


def _page(session: Session, caller: Caller, org: str, **extra: Any) -> OrgMembersPage:
    """Members see the list; to anyone else the page does not exist (as the API's 403, worded as a missing page)."""
    service = OrgService(session)
    try:
        members = service.members(caller, org)
    except Forbidden:
        raise NamespaceNotFound(f"No members page of {org[:100]!r} is yours to see.") from None
    found = service.org(org)
    role = caller.role(found.id)
    rows = [(m.user.name, m.role) for m in members]
    return OrgMembersPage(org=found.name, members=rows, is_owner=role == Role.OWNER, roles=list(ROLE_NAMES), **extra)


def _back(org: str) -> Response:
    return RedirectResponse(MEMBERS.format(org=quote(org)), status_code=303)
