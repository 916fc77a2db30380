"""A namespace's webhooks (its owners): create, list, delete; each hook's delivery log, and redelivery by hand."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from hub.deps import DbSession, SignedIn, Writer
from hub.events.hooks import WebhookService
from hub.events.models import URL_MAX, Webhook, WebhookDelivery
from hub.events.outbox import EVENT_TYPES
from hub.timeutil import isoformat

router = APIRouter(prefix="/api/namespaces/{namespace}/webhooks", tags=["webhooks"])
WebhookId = Annotated[int, Path(ge=1, lt=2**31)]
DeliveryId = Annotated[int, Path(ge=1, lt=2**31)]


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(max_length=URL_MAX, examples=["https://ci.example/hooks/hub"])
    events: list[Annotated[str, Field(max_length=64)]] = Field(
        max_length=len(EVENT_TYPES) * 2, examples=[list(EVENT_TYPES)], description=", ".join(EVENT_TYPES)
    )
    secret: str | None = Field(
        None, max_length=128, description="whsec_ + base64 of 24-64 bytes; generated (and shown once) when omitted"
    )


def webhook_view(hook: Webhook) -> dict[str, Any]:
    """Never the secret: it is shown once, in the answer to the POST that made the hook."""
    return {"id": hook.id, "url": hook.url, "events": hook.events, "created_at": isoformat(hook.created_at)}


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "event": delivery.event.type,
        "message_id": delivery.event.message_id,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_code": delivery.response_code,
        "error": delivery.error,
        "created_at": isoformat(delivery.created_at),
        "last_attempt_at": isoformat(delivery.last_attempt_at),
        "next_attempt_at": isoformat(delivery.next_attempt_at) if delivery.status == "pending" else None,
        "delivered_at": isoformat(delivery.delivered_at),
    }


@router.post("", status_code=201, summary="Create a webhook (owners); the secret is in this answer only")
def create_webhook(session: DbSession, caller: Writer, namespace: str, body: WebhookIn) -> dict[str, Any]:
    hook = WebhookService(session).create(caller, namespace, body.url, body.events, body.secret)
    return {**webhook_view(hook), "secret": hook.secret}


@router.get("", summary="The namespace's webhooks (owners), without their secrets")
def list_webhooks(session: DbSession, caller: SignedIn, namespace: str) -> list[dict[str, Any]]:
    return [webhook_view(hook) for hook in WebhookService(session).hooks(caller, namespace)]


@router.delete("/{webhook_id}", status_code=204, summary="Delete a webhook and its delivery log (owners)")
def delete_webhook(session: DbSession, caller: Writer, namespace: str, webhook_id: WebhookId) -> None:
    WebhookService(session).delete(caller, namespace, webhook_id)


@router.get("/{webhook_id}/deliveries", summary="A webhook's delivery log, newest first (owners)")
def list_deliveries(
    session: DbSession,
    caller: SignedIn,
    namespace: str,
    webhook_id: WebhookId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[dict[str, Any]]:
    return [delivery_view(d) for d in WebhookService(session).deliveries(caller, namespace, webhook_id, limit)]


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    summary="Send a delivery's event again (owners): a new delivery, same body and webhook-id",
)
def redeliver(
    session: DbSession, caller: Writer, namespace: str, webhook_id: WebhookId, delivery_id: DeliveryId
) -> dict[str, Any]:
    return delivery_view(WebhookService(session).redeliver(caller, namespace, webhook_id, delivery_id))
