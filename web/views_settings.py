"""An adapter's settings (/{namespace}/{name}/settings): visibility, tags, deleting a version or the adapter.

Every change goes through hub/registry/catalog/lifecycle.py, which checks the caller's role (writers change
visibility and tags, owners delete), so the web and the API refuse the same things. Destructive forms need the
thing's name typed again: a confirmation that works without JavaScript. Mounted before views_adapter, whose
/{namespace}/{name} pages would otherwise be asked first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller, Role
from hub.deps import DbSession
from hub.errors import HubError, InvalidRequest
from hub.naming import check_ref_name
from hub.registry.catalog.browse import version_history
from hub.registry.catalog.lifecycle import delete_adapter, delete_ref, delete_version, move_ref, set_visibility
from hub.registry.catalog.reads import CatalogService
from hub.registry.catalog.refs import MAIN_REF
from hub.registry.models import Adapter, Ref
from web.auth import CsrfChecked, WebCaller, load_web_caller
from web.contexts import AdapterSettingsPage
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
PAGE = "/{namespace}/{name}/settings"
Short = Annotated[str, Form(max_length=200)]


@router.get(PAGE, response_class=HTMLResponse)
def settings_page(request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str) -> Response:
    if caller.user is None:
        return login_redirect(request)
    adapter = CatalogService(session).adapter(namespace, name, caller)
    caller.require_role(adapter.namespace, Role.WRITE, "change this adapter's settings")
    return render(request, _page(session, caller, adapter))


@router.post(PAGE + "/visibility", response_class=HTMLResponse, dependencies=[CsrfChecked])
def change_visibility(
    request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str, private: Short = ""
) -> Response:
    def change(adapter: Adapter) -> str:
        if private not in ("yes", "no"):
            raise InvalidRequest("Choose private or public.")
        set_visibility(session, adapter, private == "yes", caller)
        return f"{_ident(adapter)} is now {'private' if private == 'yes' else 'public'}."

    return _act(request, session, caller, namespace, name, change)


@router.post(PAGE + "/tags", response_class=HTMLResponse, dependencies=[CsrfChecked])
def point_tag(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    name: str,
    tag: Short = "",
    revision: Short = "",
) -> Response:
    def change(adapter: Adapter) -> str:
        version = CatalogService(session).resolve(adapter, revision.strip())
        move_ref(session, adapter, check_ref_name(tag.strip()), version, caller)
        return f"The tag {tag.strip()} now points at v{version.number}."

    return _act(request, session, caller, namespace, name, change, form={"tag": tag})


@router.post(PAGE + "/tags/{tag}/delete", response_class=HTMLResponse, dependencies=[CsrfChecked])
def remove_tag(
    request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str, tag: str, confirm: Short = ""
) -> Response:
    def change(adapter: Adapter) -> str:
        _confirmed(confirm, tag, f"the tag {tag}")
        delete_ref(session, adapter, tag, caller)
        return f"The tag {tag} was deleted; its version stays."

    return _act(request, session, caller, namespace, name, change)


@router.post(PAGE + "/versions/{revision}/delete", response_class=HTMLResponse, dependencies=[CsrfChecked])
def remove_version(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    name: str,
    revision: str,
    confirm: Short = "",
) -> Response:
    def change(adapter: Adapter) -> str:
        version = CatalogService(session).resolve(adapter, revision)
        _confirmed(confirm, f"v{version.number}", f"version v{version.number}")
        delete_version(session, adapter, version, caller)
        return f"v{version.number} was deleted."

    return _act(request, session, caller, namespace, name, change)


@router.post(PAGE + "/delete", response_class=HTMLResponse, dependencies=[CsrfChecked])
def remove_adapter(
    request: Request, session: DbSession, caller: WebCaller, namespace: str, name: str, confirm: Short = ""
) -> Response:
    def change(adapter: Adapter) -> str:
        _confirmed(confirm, _ident(adapter), _ident(adapter))
        delete_adapter(session, adapter, caller)
        return f"{_ident(adapter)} was deleted."

    return _act(request, session, caller, namespace, name, change)


def _act(
    request: Request,
    session: Session,
    caller: Caller,
    namespace: str,
    name: str,
    change: Callable[[Adapter], str],
    *,
    form: dict[str, str] | None = None,
) -> Response:
    """Run one lifecycle change; a refusal rolls back and re-renders the page with the message and its status."""
    if caller.user is None:
        return login_redirect(request)
    adapter = CatalogService(session).adapter(namespace, name, caller)  # 404 for what the caller may not see
    try:
        notice = change(adapter)
        session.flush()
    except HubError as error:
        session.rollback()
        page = _page(session, caller, adapter, error=error.message, form=form or {})
        return render(request, page, status=error.status)
    if not adapter.is_live:  # deleted (or its last version was): its pages are gone
        return RedirectResponse(f"/{quote(adapter.namespace.name)}", status_code=303)
    return render(request, _page(session, caller, adapter, notice=notice))


def _confirmed(typed: str, expected: str, what: str) -> None:
    if typed.strip() != expected:
        raise InvalidRequest(f"Nothing was deleted: type {expected} to confirm deleting {what}.")


def _page(session: Session, caller: Caller, adapter: Adapter, **extra: Any) -> AdapterSettingsPage:
    session.refresh(adapter)  # after a change or a rollback: the row as the database now has it
    refs = session.scalars(select(Ref).where(Ref.adapter_id == adapter.id).order_by(Ref.name))
    versions = version_history(session, adapter)
    numbers = {version.id: version.number for version in versions}
    tags = [(ref.name, numbers[ref.version_id]) for ref in refs if ref.name != MAIN_REF and ref.version_id in numbers]
    return AdapterSettingsPage(
        adapter=adapter,
        versions=versions,
        tags=tags,
        is_owner=caller.role(adapter.namespace_id) == Role.OWNER,
        **extra,
    )


def _ident(adapter: Adapter) -> str:
    return f"{adapter.namespace.name}/{adapter.name}"
