"""/new: publish a new adapter, or a new version of one, by uploading a PEFT folder's files."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.accounts.models import User
from hub.accounts.permissions import ROLE_NAMES, Caller, Role, member_namespaces
from hub.deps import DbSession, LimitsDep, StorageDep
from hub.errors import AdapterNotFound, HubError
from hub.registry.catalog.reads import CatalogService
from hub.registry.publish.local import publish_local_files
from web.auth import CsrfChecked, WebCaller, load_web_caller, signed_in
from web.contexts import PublishPage
from web.publishing import folder_files, metadata_from_form
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
FIELDS = (
    "namespace", "name", "base_model", "base_model_type", "task", "license", "tags", "description", "private",
    "allow_unchanged",
)  # fmt: skip
Files = Annotated[list[UploadFile] | None, File()]


@router.get("/new", response_class=HTMLResponse)
def publish_form(request: Request, session: DbSession, caller: WebCaller, adapter: str = "") -> Response:
    user = caller.user
    if user is None:
        return login_redirect(request)
    namespace, _, name = adapter.partition("/")
    form = {"namespace": namespace or user.namespace.name, "name": name} | latest_base(session, caller, namespace, name)
    return render(request, PublishPage(namespaces=writable_namespaces(session, user), form=form))


def latest_base(session: DbSession, caller: Caller, namespace: str, name: str) -> dict[str, str]:
    """A new version's form starts with the base its latest version names (the hub would inherit it anyway)."""
    try:
        found = CatalogService(session).adapter(namespace, name, caller)
    except AdapterNotFound:
        return {}  # a new adapter: nothing to pre-fill
    return {"base_model": found.base_model or "", "base_model_type": found.base_model_type or ""}


def writable_namespaces(session: DbSession, user: User) -> list[str]:
    orgs = [org.name for org, role in member_namespaces(session, user) if ROLE_NAMES[role] >= Role.WRITE]
    return [user.namespace.name, *orgs]


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()  # already parsed (and cached) by the CSRF check
    return {key: str(form.get(key, "")).strip() for key in FIELDS}


@router.post("/new", dependencies=[CsrfChecked])
def publish(
    request: Request,
    session: DbSession,
    storage: StorageDep,
    limits: LimitsDep,
    caller: WebCaller,
    form: Annotated[dict[str, str], Depends(_fields)],
    files: Files = None,
    folder: Files = None,
) -> Response:
    publisher = signed_in(caller, "write", "publish")
    namespaces = writable_namespaces(session, publisher)  # read now: a rollback below expires the rows
    chosen = folder_files([*(files or []), *(folder or [])])
    try:
        target, meta = (form["namespace"], form["name"]), metadata_from_form(form)
        allow = bool(form["allow_unchanged"])
        version = publish_local_files(session, storage, limits, caller, target, chosen, meta, allow_unchanged=allow)
    except HubError as error:
        session.rollback()  # nothing of a refused publish may stay: no adapter row, no upload
        page = PublishPage(namespaces=namespaces, form=form, error=error.message)
        refused = render(request, page, status=error.status)
        refused.headers["X-Error-Code"] = error.code  # the API's header: scripts posting the form can tell why
        return refused
    adapter = version.adapter
    return RedirectResponse(f"/{quote(adapter.namespace.name)}/{quote(adapter.name)}", status_code=303)
