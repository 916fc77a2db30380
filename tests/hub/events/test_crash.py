"""The outbox survives a crash: a `hub serve` process killed (SIGKILL) right after a publish commits, before
its worker sent anything, still has the event delivered, exactly once, by the process started after it."""

from __future__ import annotations

import os
import signal
import time

import httpx
from sqlalchemy import select

from hub.models import WebhookDelivery
from tests.fixtures.replicas import FAKE_AWS_ENV, ROOT, start_replica
from tests.helpers import publish, tiny_lora_files
from tests.hub.events.receiver import verified


def _env(settings, poll_seconds: float) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("HUB_")}
    env.update({name: os.environ.get(name, value) for name, value in FAKE_AWS_ENV.items()})
    env.update(
        HUB_DATABASE_URL=settings.database_url,
        HUB_STORAGE_URL=settings.storage_url,
        HUB_DATA_DIR=str(settings.data_dir),
        HUB_WEBHOOK_POLL_SECONDS=str(poll_seconds),
        HUB_WEBHOOK_RETRY_BASE_SECONDS="0.2",
        PYTHONPATH=str(ROOT),
    )
    if settings.s3_endpoint_url:
        env.update(HUB_S3_ENDPOINT_URL=settings.s3_endpoint_url, HUB_S3_REGION="us-east-1")
    return env


def _pending(app) -> list[tuple[str, int]]:
    with app.state.session_factory() as session:
        return [tuple(row) for row in session.execute(select(WebhookDelivery.status, WebhookDelivery.attempts))]


def test_an_event_committed_just_before_sigkill_is_delivered_after_restart(app, settings, alice, receiver, tmp_path):
    # No TestClient here: its lifespan would start an in-process worker that delivers before the kill.
    slow = start_replica("slow", _env(settings, poll_seconds=600), tmp_path)  # polls once at start, then sleeps
    try:
        with httpx.Client(base_url=slow.url, timeout=30) as http:
            made = http.post(
                "/api/namespaces/alice/webhooks", json={"url": receiver.url(), "events": ["adapter.published"]},
                headers=alice.headers,
            )  # fmt: skip
            assert made.status_code == 201, made.text
            committed = publish(http, alice, "alice/lora", tiny_lora_files())
            assert committed.status_code == 201, committed.text
        slow.process.send_signal(signal.SIGKILL)
        slow.process.wait(timeout=10)
    finally:
        slow.stop()
    assert _pending(app) == [("pending", 0)]  # in the outbox, never attempted
    time.sleep(0.5)
    assert receiver.at("/hook") == []

    fast = start_replica("fast", _env(settings, poll_seconds=0.05), tmp_path)
    try:
        [arrival] = receiver.wait_for("/hook", 1, timeout=30)
        time.sleep(1.0)
        assert len(receiver.at("/hook")) == 1
    finally:
        fast.stop()
    body = verified(arrival, made.json()["secret"])
    assert body["type"] == "adapter.published"
    assert body["data"]["revision"] == committed.json()["revision"] and body["data"]["adapter"] == "alice/lora"
    assert _pending(app) == [("succeeded", 1)]
