"""The outbox: a change writes its event, and one pending delivery per matching webhook, in its own transaction.

So an event is never lost when the process dies right after the commit (the worker finds the rows after a
restart), and a rolled-back change never sends one (its rows roll back with it). Hooks belong to the
adapter's namespace, so a private adapter's events reach only that namespace's own hooks.
"""

from __future__ import annotations

import json
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.events.models import Webhook, WebhookDelivery, WebhookEvent
from hub.timeutil import isoformat, utcnow

if TYPE_CHECKING:  # the outbox names adapters but depends on no domain: the registry calls it, never the reverse
    from hub.accounts.models import User
    from hub.registry.models import Adapter, Version

EVENT_TYPES = ("adapter.published", "tag.moved", "visibility.changed", "version.deleted", "adapter.deleted")


def emit(session: Session, namespace_id: int, event_type: str, data: dict[str, Any]) -> WebhookEvent | None:
    """Queue `event_type` for every hook of the namespace that subscribed to it; nothing is written without one."""
    assert event_type in EVENT_TYPES, event_type
    hooks = [hook for hook in _hooks_of(session, namespace_id) if event_type in hook.events]
    if not hooks:
        return None
    now = utcnow()
    body = {"type": event_type, "timestamp": isoformat(now), "data": data}
    event = WebhookEvent(
        namespace_id=namespace_id, message_id=new_message_id(), type=event_type, body=_json(body), created_at=now
    )
    session.add(event)
    session.add_all(WebhookDelivery(event=event, webhook_id=hook.id, next_attempt_at=now) for hook in hooks)
    return event


def announce(
    session: Session,
    event_type: str,
    adapter: Adapter,
    actor: User | None,
    *,
    version: Version | int | None = None,
    tag: str | None = None,
    **extra: Any,
) -> None:
    """An adapter's change as an event: who did it to which adapter, version and revision (`version` may be
    the number, as lifecycle's audit detail holds it); `tag` and `extra` (e.g. `private`) are added as given."""
    chosen = _version_of(adapter, version)
    data: dict[str, Any] = {
        "adapter": f"{adapter.namespace.name}/{adapter.name}",
        "version": f"v{chosen.number}" if chosen else None,
        "revision": chosen.revision if chosen else None,
        "actor": actor.name if actor else None,
    }
    if tag is not None:
        data["tag"] = tag
    emit(session, adapter.namespace_id, event_type, {**data, **extra})


def new_message_id() -> str:
    """The Standard Webhooks `webhook-id`: one per event, the same on every attempt, so receivers can dedupe."""
    return f"msg_{secrets.token_hex(16)}"


def _hooks_of(session: Session, namespace_id: int) -> list[Webhook]:
    return list(session.scalars(select(Webhook).where(Webhook.namespace_id == namespace_id)))


def _version_of(adapter: Adapter, version: Version | int | None) -> Version | None:
    if version is None or not isinstance(version, int):
        return version
    return next((candidate for candidate in adapter.versions if candidate.number == version), None)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
