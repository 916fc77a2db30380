"""A namespace's webhooks on the web (/settings/{namespace}/webhooks): the same WebhookService as the API.

A fixed first segment ("settings" is a reserved namespace name), so these pages never collide with an
adapter's; mounted before views_adapter. Every form carries the CSRF token.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller
from hub.accounts.service import AccountService
from hub.deps import DbSession
from hub.errors import InvalidWebhookEvent, InvalidWebhookSecret, InvalidWebhookUrl
from hub.events.hooks import WebhookService
from hub.events.models import URL_MAX
from hub.events.outbox import EVENT_TYPES
from web.auth import CsrfChecked, WebCaller, load_web_caller, signed_in
from web.contexts import WebhooksPage
from web.templating import render
from web.views_account import login_redirect

router = APIRouter(include_in_schema=False, dependencies=[Depends(load_web_caller)])
PAGE = "/settings/{namespace}/webhooks"
LOG_LENGTH = 20  # deliveries shown per webhook; the API pages further
Id = Annotated[int, Path(ge=1, lt=2**31)]
REFUSED = (InvalidWebhookUrl, InvalidWebhookEvent, InvalidWebhookSecret)


@router.get(PAGE, response_class=HTMLResponse)
def webhooks_page(request: Request, session: DbSession, caller: WebCaller, namespace: str) -> Response:
    if caller.user is None:
        return login_redirect(request)
    return render(request, _page(session, caller, namespace))


@router.post(PAGE, response_class=HTMLResponse, dependencies=[CsrfChecked])
def create_webhook(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    url: Annotated[str, Form(max_length=URL_MAX)] = "",
    events: Annotated[list[str] | None, Form()] = None,
    secret: Annotated[str, Form(max_length=128)] = "",
) -> HTMLResponse:
    signed_in(caller, "write", "manage webhooks")
    try:
        hook = WebhookService(session).create(caller, namespace, url.strip(), events or [], secret.strip() or None)
    except REFUSED as error:  # refused before any row was written
        form = {"url": url, "events": events or []}
        return render(request, _page(session, caller, namespace, error=error.message, form=form), status=400)
    return render(request, _page(session, caller, namespace, new_secret=hook.secret), status=201)


@router.post(PAGE + "/{webhook_id}/delete", response_class=HTMLResponse, dependencies=[CsrfChecked])
def delete_webhook(
    request: Request,
    session: DbSession,
    caller: WebCaller,
    namespace: str,
    webhook_id: Id,
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Deleting needs the confirmation box ticked: the form works without JavaScript, so no confirm() dialog."""
    signed_in(caller, "write", "manage webhooks")
    if confirm != "yes":
        error = f"Webhook {webhook_id} was not deleted: tick the box to confirm."
        return render(request, _page(session, caller, namespace, error=error), status=400)
    WebhookService(session).delete(caller, namespace, webhook_id)
    return _back(namespace)


@router.post(PAGE + "/{webhook_id}/deliveries/{delivery_id}/redeliver", dependencies=[CsrfChecked])
def redeliver(session: DbSession, caller: WebCaller, namespace: str, webhook_id: Id, delivery_id: Id) -> Response:
    signed_in(caller, "write", "manage webhooks")
    WebhookService(session).redeliver(caller, namespace, webhook_id, delivery_id)
    return _back(namespace)


def _page(session: Session, caller: Caller, namespace: str, **extra: Any) -> WebhooksPage:
    service = WebhookService(session)
    hooks = service.hooks(caller, namespace)  # checks the owner role first
    logs = [(hook, service.deliveries(caller, namespace, hook.id, LOG_LENGTH)) for hook in hooks]
    name = AccountService(session).namespace(namespace).name
    return WebhooksPage(namespace=name, hooks=logs, event_types=EVENT_TYPES, **extra)


def _back(namespace: str) -> Response:
    return RedirectResponse(PAGE.format(namespace=quote(namespace)), status_code=303)
