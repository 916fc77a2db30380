"""The delivery worker: a daemon thread in each hub process that sends what the outbox holds.

Safe with several replicas and workers: a delivery is claimed with a conditional UPDATE that moves its
`claimed_until` lease into the future, committed BEFORE the request is sent, so no two processes send the
same attempt; a process that dies mid-send leaves a lease that simply runs out. Redirects are never followed
(a 3xx counts as a failed attempt): a hook's URL was checked to be http(s), the target of a redirect was not.
Failed attempts are retried with exponential backoff (base, 2 x base, 4 x base...) up to the attempt limit.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work
from hub.events.models import Webhook, WebhookDelivery, WebhookEvent
from hub.events.signing import signed_headers
from hub.timeutil import utcnow

log = logging.getLogger(__name__)
BATCH = 20
USER_AGENT = "adapter-hub-webhooks"


@dataclass(frozen=True)
class RetryPolicy:
    base_delay: float  # seconds before the second attempt; doubled after each further failure
    max_attempts: int
    timeout: float  # seconds, per connect / read / write

    def delay_after(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.base_delay * 2 ** (attempts - 1))

    @property
    def lease(self) -> timedelta:
        """Longer than one attempt can take (httpx's timeout applies per phase), so a claim outlives its send."""
        return timedelta(seconds=4 * self.timeout + 10)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    response_code: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Claim:
    """What one attempt sends, read after the claim: the event's exact body and the hook's URL and secret."""

    delivery_id: int
    lease_until: datetime
    attempts: int
    url: str
    secret: str
    message_id: str
    body: str


def due_ids(factory: sessionmaker[Session], now: datetime) -> list[int]:
    query = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now, _unclaimed(now))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(BATCH)
    )
    with factory() as session:
        return list(session.scalars(query))


def claim(factory: sessionmaker[Session], delivery_id: int, now: datetime, lease: timedelta) -> Claim | None:
    """Take the delivery for one attempt, or None when another process took it first (or it is gone)."""
    lease_until = now + lease
    taken = (
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.status == "pending", _unclaimed(now))
        .values(claimed_until=lease_until)
    )
    with unit_of_work(factory) as session:  # a write first: SQLite takes its lock (or waits) before reading
        if session.execute(taken).rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.execute(
            select(WebhookDelivery.attempts, Webhook.url, Webhook.secret, WebhookEvent.message_id, WebhookEvent.body)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.id == delivery_id)
        ).one()
    return Claim(delivery_id, lease_until, *row)


def send(client: httpx.Client, claimed: Claim) -> Outcome:
    """One signed POST; only a 2xx answer is a success. The answer's body is never read."""
    headers = {
        **signed_headers(claimed.secret, claimed.message_id, claimed.body, utcnow()),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
    try:
        with client.stream("POST", claimed.url, content=claimed.body.encode(), headers=headers) as response:
            code, location = response.status_code, response.headers.get("location")
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as error:
        return Outcome(False, None, f"{type(error).__name__}: {error}"[:300])
    if 200 <= code < 300:
        return Outcome(True, code)
    if 300 <= code < 400:
        return Outcome(False, code, f"redirect to {location!r} not followed"[:300])
    return Outcome(False, code, f"the receiver answered {code}")


def finish(factory: sessionmaker[Session], claimed: Claim, outcome: Outcome, policy: RetryPolicy) -> None:
    """Log the attempt and release the claim; only the claim's holder may (the lease value identifies it)."""
    now, attempts = utcnow(), claimed.attempts + 1
    status = "succeeded" if outcome.ok else ("failed" if attempts >= policy.max_attempts else "pending")
    values = {
        "attempts": attempts,
        "status": status,
        "claimed_until": None,
        "last_attempt_at": now,
        "response_code": outcome.response_code,
        "error": outcome.error,
        "next_attempt_at": now + policy.delay_after(attempts),
        "delivered_at": now if outcome.ok else None,
    }
    mine = (WebhookDelivery.id == claimed.delivery_id) & (WebhookDelivery.claimed_until == claimed.lease_until)
    with unit_of_work(factory) as session:
        session.execute(update(WebhookDelivery).where(mine).values(**values))


def deliver_due(factory: sessionmaker[Session], client: httpx.Client, policy: RetryPolicy) -> int:
    """One pass over what is due now; the number of attempts made."""
    made = 0
    for delivery_id in due_ids(factory, utcnow()):
        claimed = claim(factory, delivery_id, utcnow(), policy.lease)
        if claimed is not None:
            finish(factory, claimed, send(client, claimed), policy)
            made += 1
    return made


def _unclaimed(now: datetime):
    return or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)


class DeliveryWorker:
    """Polls every `poll_seconds` (at once when started) until stopped; errors are logged, never fatal."""

    def __init__(self, factory: sessionmaker[Session], policy: RetryPolicy, poll_seconds: float) -> None:
        self.factory = factory
        self.policy = policy
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="webhook-deliveries", daemon=True)

    def start(self) -> DeliveryWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30) -> None:
        self._stopping.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.policy.timeout, follow_redirects=False) as client:
            while not self._stopping.is_set():
                self._pass(client)
                self._stopping.wait(self.poll_seconds)

    def _pass(self, client: httpx.Client) -> None:
        try:
            while deliver_due(self.factory, client, self.policy) and not self._stopping.is_set():
                pass  # a full batch may hide more that is due: go on until a pass finds nothing
        except Exception:  # the database away for a moment must not end deliveries for good
            log.exception("webhook delivery pass failed; retrying at the next poll")
