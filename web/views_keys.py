"""A namespace's signers on the web (/settings/{namespace}/keys): the same SigningService as the API and `hub keys`.

Owners add a public key (or a CA with an identity), revoke one (the box must be ticked: no JavaScript needed),
and switch `require_signatures`. Every form carries the CSRF token; mounted before views_adapter.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller
from hub.deps import DbSession
from hub.errors import InvalidSignerKey
from hub.signing.models import IDENTITY_MAX
from hub.signing.service import PEM_MAX, SigningService
from web.auth import CsrfChecked, WebCaller, load_web_caller, signed_in
from web.contexts import KeysPage
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
PAGE = "/settings/{namespace}/keys"
KeyId = Annotated[str, Path(min_length=8, max_length=64, pattern="^[0-9a-fA-F]+$")]


@router.get(PAGE, response_class=HTMLResponse)
def keys_page(request: Request, session: DbSession, caller: WebCaller, namespace: str) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, _page(session, caller, namespace))


@router.post(PAGE, response_class=HTMLResponse, dependencies=[CsrfChecked])
def add_key(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    public_key: Annotated[str, Form(max_length=PEM_MAX)] = "",
    ca_certificate: Annotated[str, Form(max_length=PEM_MAX)] = "",
    identity: Annotated[str, Form(max_length=IDENTITY_MAX)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    signed_in(caller, "write", "manage signer keys")
    given = {"public_key": public_key.strip() or None, "ca_certificate": ca_certificate.strip() or None}
    try:
        SigningService(session).add(caller, namespace, identity=identity.strip() or None, name=name.strip(), **given)
    except InvalidSignerKey as error:  # refused before any row was written
        form = {"name": name, "identity": identity}
        return render(request, _page(session, caller, namespace, error=error.message, form=form), status=400)
    return _back(namespace)


@router.post(PAGE + "/{key_id}/revoke", response_class=HTMLResponse, dependencies=[CsrfChecked])
def revoke_key(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    key_id: KeyId,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    signed_in(caller, "write", "manage signer keys")
    if confirm != "yes":
        error = f"Key {key_id[:16]} was not revoked: tick the box to confirm."
        return render(request, _page(session, caller, namespace, error=error), status=400)
    SigningService(session).revoke(caller, namespace, key_id)
    return _back(namespace)


@router.post(PAGE + "/policy", dependencies=[CsrfChecked])
def set_policy(
    session: DbSession, caller: WebCaller, namespace: str, require: Annotated[str, Form(max_length=8)] = ""
) -> Response:
    signed_in(caller, "write", "manage signer keys")
    SigningService(session).set_policy(caller, namespace, require_signatures=require == "yes")
    return _back(namespace)


def _page(session: Session, caller: Caller, namespace: str, **extra: Any) -> KeysPage:
    service = SigningService(session)
    owned, _ = service.owned(caller, namespace)  # owners only, as for every change here
    return KeysPage(
        namespace=owned.name,
        signers=service.signers(owned.name),
        require_signatures=service.requires_signatures(owned),
        **extra,
    )


def _back(namespace: str) -> Response:
    return RedirectResponse(PAGE.format(namespace=quote(namespace)), status_code=303)
