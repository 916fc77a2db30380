"""Deliveries on both backends: signed bodies per event type, retries with backoff, no redirects followed,
private adapters' events only to their own namespace, nothing for a refused or rolled-back change,
redelivery by hand, and several workers on one database never sending the same attempt twice."""

from __future__ import annotations

import io
import re
import time

import pytest

from hub.accounts.permissions import acting_as
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from hub.events.worker import DeliveryWorker, RetryPolicy
from hub.models import WebhookDelivery
from hub.registry.publish.local import publish_local_files
from hub.registry.publish.metadata import PublishMetadata
from tests.helpers import assert_error, publish, tiny_lora_files
from tests.hub.events.conftest import FAST
from tests.hub.events.helpers import delivery_log, make_hook
from tests.hub.events.receiver import verified

QUIET = 0.6  # seconds of waiting that would surely have seen a delivery (the worker polls every 0.05 s)


def _publish(client, account, adapter: str, seed: int = 0, **meta) -> dict:
    answer = publish(client, account, adapter, tiny_lora_files(seed=seed), **meta)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_each_event_type_is_delivered_once_signed_with_the_right_body(client, alice, receiver):
    hook = make_hook(client, alice, "alice", receiver.url())
    v1 = _publish(client, alice, "alice/lora")
    v2 = _publish(client, alice, "alice/lora", seed=1)
    assert client.put("/api/adapters/alice/lora/refs/stable", json={"revision": "v1"}, headers=alice.headers).is_success
    assert client.patch("/api/adapters/alice/lora", json={"private": True}, headers=alice.headers).is_success
    assert client.delete("/api/adapters/alice/lora/versions/v1", headers=alice.headers).status_code == 204
    assert client.delete("/api/adapters/alice/lora", headers=alice.headers).status_code == 204

    bodies = [verified(arrival, hook["secret"]) for arrival in receiver.wait_for("/hook", 6)]
    time.sleep(QUIET)
    assert len(receiver.at("/hook")) == 6  # once each, no duplicate
    by_type = {}
    for body in bodies:
        by_type.setdefault(body["type"], []).append(body["data"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["timestamp"])
    common = {"adapter": "alice/lora", "actor": "alice"}
    first, second = ({**common, "version": v["version"], "revision": v["revision"]} for v in (v1, v2))
    assert sorted(by_type["adapter.published"], key=lambda d: d["version"]) == [first, second]
    assert by_type["tag.moved"] == [{**first, "tag": "stable"}]
    assert by_type["visibility.changed"] == [{**common, "version": None, "revision": None, "private": True}]
    assert by_type["version.deleted"] == [first]
    assert by_type["adapter.deleted"] == [{**common, "version": None, "revision": None}]
    assert all(re.fullmatch(r"[0-9a-f]{40}", v["revision"]) for v in (v1, v2))
    ids = {arrival.headers["webhook-id"] for arrival in receiver.at("/hook")}
    assert len(ids) == 6 and all(i.startswith("msg_") for i in ids)


def test_a_hook_gets_only_the_events_it_chose(client, alice, receiver):
    make_hook(client, alice, "alice", receiver.url("/tags"), events=["tag.moved"])
    _publish(client, alice, "alice/lora")
    client.put("/api/adapters/alice/lora/refs/stable", json={"revision": "v1"}, headers=alice.headers)
    [arrival] = receiver.wait_for("/tags", 1)
    time.sleep(QUIET)
    assert len(receiver.at("/tags")) == 1 and b'"tag.moved"' in arrival.body


def test_a_receiver_failing_twice_gets_three_attempts_with_growing_delays(client, alice, receiver):
    receiver.scripts["/flaky"] = [500, 503]
    hook = make_hook(client, alice, "alice", receiver.url("/flaky"))
    _publish(client, alice, "alice/lora")
    attempts = receiver.wait_for("/flaky", 3)
    time.sleep(QUIET)
    assert len(receiver.at("/flaky")) == 3
    first_gap, second_gap = attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at
    base = FAST["webhook_retry_base_seconds"]
    assert first_gap >= base and second_gap >= 2 * base and second_gap > first_gap, (first_gap, second_gap)
    assert len({a.headers["webhook-id"] for a in attempts}) == 1  # the same message, retried
    assert len({a.body for a in attempts}) == 1
    [entry] = _settled(client, alice, hook["id"])
    assert (entry["status"], entry["attempts"], entry["response_code"]) == ("succeeded", 3, 200)
    assert entry["event"] == "adapter.published" and entry["delivered_at"] and entry["last_attempt_at"]


def test_a_delivery_that_never_succeeds_is_marked_failed_after_the_last_attempt(client, alice, receiver):
    receiver.scripts["/down"] = [500] * 10
    hook = make_hook(client, alice, "alice", receiver.url("/down"))
    _publish(client, alice, "alice/lora")
    receiver.wait_for("/down", FAST["webhook_max_attempts"])
    [entry] = _settled(client, alice, hook["id"])
    assert (entry["status"], entry["attempts"], entry["response_code"]) == ("failed", 4, 500)
    time.sleep(QUIET)
    assert len(receiver.at("/down")) == FAST["webhook_max_attempts"]


def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(client, alice, receiver):
    receiver.redirects["/moved"] = receiver.url("/elsewhere")
    hook = make_hook(client, alice, "alice", receiver.url("/moved"))
    _publish(client, alice, "alice/lora")
    receiver.wait_for("/moved", 2)
    entry = delivery_log(client, alice, "alice", hook["id"])[0]
    assert entry["response_code"] == 302 and entry["status"] in ("pending", "failed") and entry["attempts"] >= 1
    assert "not followed" in entry["error"]
    assert receiver.at("/elsewhere") == []


def test_private_adapter_events_reach_only_their_own_namespace_hooks(client, alice, bob, receiver):
    make_hook(client, alice, "alice", receiver.url("/alice"))
    make_hook(client, bob, "bob", receiver.url("/bob"))
    _publish(client, alice, "alice/secret-lora", private=True)
    client.put("/api/adapters/alice/secret-lora/refs/stable", json={"revision": "v1"}, headers=alice.headers)
    client.delete("/api/adapters/alice/secret-lora", headers=alice.headers)
    receiver.wait_for("/alice", 3)
    time.sleep(QUIET)
    assert receiver.at("/bob") == []
    _publish(client, bob, "bob/open-lora")  # bob's hook works: it is only alice's events it never sees
    [arrival] = receiver.wait_for("/bob", 1)
    assert b"bob/open-lora" in arrival.body and b"secret-lora" not in arrival.body


def test_a_publish_refused_at_commit_delivers_nothing(client, alice, receiver, app):
    hook = make_hook(client, alice, "alice", receiver.url())
    refused = publish(client, alice, "alice/lora", tiny_lora_files(), lineage=[{"adapter": "alice/none",
                      "revision": "0" * 40, "weight": 1.0}])  # fmt: skip
    assert_error(refused, 400, "InvalidMetadata")
    time.sleep(QUIET)
    assert receiver.at("/hook") == [] and delivery_log(client, alice, "alice", hook["id"]) == []


def test_a_rolled_back_publish_delivers_nothing(client, alice, receiver, app):
    """The publish went through every step, event included, and then its transaction rolled back."""
    hook = make_hook(client, alice, "alice", receiver.url())
    files = [(path, io.BytesIO(data)) for path, data in tiny_lora_files().items()]
    meta = PublishMetadata(base_model="tiny/llama-test")
    with pytest.raises(RuntimeError), unit_of_work(app.state.session_factory) as session:
        caller = acting_as(session, AccountService(session).user("alice"))
        state = app.state
        publish_local_files(session, state.storage, state.limits, caller, ("alice", "lora"), files, meta)
        assert session.query(WebhookDelivery).count() == 1  # the outbox row was written in this transaction
        raise RuntimeError("the request failed after the commit step")
    time.sleep(QUIET)
    assert receiver.at("/hook") == [] and delivery_log(client, alice, "alice", hook["id"]) == []
    assert client.get("/api/adapters/alice/lora").status_code == 404


def test_redelivery_by_hand_sends_the_same_message_again(client, alice, receiver):
    hook = make_hook(client, alice, "alice", receiver.url())
    _publish(client, alice, "alice/lora")
    [first] = receiver.wait_for("/hook", 1)
    [entry] = _settled(client, alice, hook["id"])
    again = client.post(
        f"/api/namespaces/alice/webhooks/{hook['id']}/deliveries/{entry['id']}/redeliver", headers=alice.headers
    )
    assert again.status_code == 202 and again.json()["status"] == "pending"
    second = receiver.wait_for("/hook", 2)[1]
    assert second.body == first.body and second.headers["webhook-id"] == first.headers["webhook-id"]
    verified(second, hook["secret"])
    assert len(delivery_log(client, alice, "alice", hook["id"])) == 2


def test_several_workers_on_one_database_send_each_attempt_once(client, alice, receiver, app):
    """Three workers (the app's and two more, as replicas would run) race for the same deliveries."""
    hook = make_hook(client, alice, "alice", receiver.url())
    policy = RetryPolicy(base_delay=0.3, max_attempts=4, timeout=2.0)
    workers = [DeliveryWorker(app.state.session_factory, policy, 0.01).start() for _ in range(2)]
    try:
        for seed in range(4):
            _publish(client, alice, "alice/lora", seed=seed)
        receiver.wait_for("/hook", 4)
        time.sleep(QUIET)
    finally:
        for worker in workers:
            worker.stop()
    assert len(receiver.at("/hook")) == 4
    assert len({arrival.headers["webhook-id"] for arrival in receiver.at("/hook")}) == 4
    assert all(e["attempts"] == 1 for e in delivery_log(client, alice, "alice", hook["id"]))


def _settled(client, account, hook_id: int, timeout: float = 10) -> list[dict]:
    """The delivery log once nothing in it is still pending (the worker logs an attempt after sending it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = delivery_log(client, account, "alice", hook_id)
        if log and all(entry["status"] != "pending" for entry in log):
            return log
        time.sleep(0.05)
    raise AssertionError(f"deliveries still pending: {log}")
