"""A namespace's webhooks: create, list, delete, the delivery log and redelivery, for the namespace's owners.

Every operation asks `Caller.require_role(namespace, OWNER)`: a user owns their own namespace, an organisation's
owners own it. What a hook may be (an http(s) URL, known events, a Standard Webhooks secret) is checked here.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace, User
from hub.accounts.permissions import Caller, Role
from hub.accounts.service import AccountService
from hub.audit import record, subject
from hub.errors import InvalidWebhookEvent, InvalidWebhookUrl, WebhookNotFound
from hub.events.models import URL_MAX, Webhook, WebhookDelivery
from hub.events.outbox import EVENT_TYPES
from hub.events.signing import check_secret, new_secret
from hub.timeutil import utcnow

SCHEMES = ("http", "https")


class WebhookService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, caller: Caller, namespace: str, url: str, events: list[str], secret: str | None = None) -> Webhook:
        """The new hook; its `secret` (generated when none is given) is for the caller to show once."""
        owned, user = self._owned(caller, namespace)
        hook = Webhook(
            namespace_id=owned.id,
            url=check_url(url),
            events=check_events(events),
            secret=check_secret(secret) if secret else new_secret(),
            created_by_id=user.id,
        )
        self.session.add(hook)
        self.session.flush()  # the id, for the answer and the audit row
        record(self.session, user, "webhook.create", subject(owned.name), webhook=hook.id, url=hook.url)
        return hook

    def hooks(self, caller: Caller, namespace: str) -> list[Webhook]:
        owned, _ = self._owned(caller, namespace)
        query = select(Webhook).where(Webhook.namespace_id == owned.id).order_by(Webhook.id)
        return list(self.session.scalars(query))

    def delete(self, caller: Caller, namespace: str, webhook_id: int) -> None:
        """The hook and its delivery log go; deliveries not yet sent are never sent."""
        hook, user = self._hook(caller, namespace, webhook_id)
        record(self.session, user, "webhook.delete", subject(namespace), webhook=hook.id, url=hook.url)
        self.session.delete(hook)

    def deliveries(self, caller: Caller, namespace: str, webhook_id: int, limit: int = 50) -> list[WebhookDelivery]:
        """The hook's delivery log, newest first."""
        hook, _ = self._hook(caller, namespace, webhook_id)
        query = (
            select(WebhookDelivery)
            .where(WebhookDelivery.webhook_id == hook.id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def redeliver(self, caller: Caller, namespace: str, webhook_id: int, delivery_id: int) -> WebhookDelivery:
        """Send an event again, by hand: a new delivery of the same event (same body, same `webhook-id`)."""
        hook, user = self._hook(caller, namespace, webhook_id)
        old = self.session.get(WebhookDelivery, delivery_id)
        if old is None or old.webhook_id != hook.id:
            raise WebhookNotFound(f"Webhook {hook.id} has no delivery {delivery_id}.")
        again = WebhookDelivery(event_id=old.event_id, webhook_id=hook.id, next_attempt_at=utcnow())
        self.session.add(again)
        self.session.flush()
        record(self.session, user, "webhook.redeliver", subject(namespace), webhook=hook.id, delivery=old.id)
        return again

    def _owned(self, caller: Caller, namespace: str) -> tuple[Namespace, User]:
        owned = AccountService(self.session).namespace(namespace)
        return owned, caller.require_role(owned, Role.OWNER, "manage webhooks")

    def _hook(self, caller: Caller, namespace: str, webhook_id: int) -> tuple[Webhook, User]:
        owned, user = self._owned(caller, namespace)
        hook = self.session.get(Webhook, webhook_id)
        if hook is None or hook.namespace_id != owned.id:
            raise WebhookNotFound(f"{owned.name!r} has no webhook {webhook_id}.")
        return hook, user


def check_url(url: str) -> str:
    """Only http(s), with a host, that the sender can parse: file:, ftp:, javascript: and the like are refused."""
    if len(url) > URL_MAX or any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise InvalidWebhookUrl(f"A webhook URL is one line of at most {URL_MAX} characters without spaces.")
    try:
        parts, parsed = urlsplit(url), httpx.URL(url)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except (ValueError, httpx.InvalidURL):
        raise InvalidWebhookUrl(f"{url[:100]!r} is not a valid URL.") from None
    if parts.scheme.lower() not in SCHEMES or not parts.hostname or not parsed.host:
        raise InvalidWebhookUrl(
            f"A webhook URL must be an http:// or https:// address with a host, e.g. https://ci.example/hub; "
            f"got {url[:100]!r}."
        )
    return url


def check_events(events: list[str]) -> list[str]:
    """The events asked for, in the hub's order; at least one, every one known."""
    unknown = [event for event in events if event not in EVENT_TYPES]
    if unknown or not events:
        named = f"unknown: {', '.join(repr(e[:40]) for e in unknown[:5])}; " if unknown else "none given; "
        raise InvalidWebhookEvent(f"Webhook events: {named}choose from {', '.join(EVENT_TYPES)}.")
    return [event for event in EVENT_TYPES if event in events]
