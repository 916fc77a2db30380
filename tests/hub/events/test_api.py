"""The webhook routes on both backends: owners only, the secret shown once, only http(s) URLs, known events."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from hub.events.outbox import EVENT_TYPES
from hub.models import Webhook
from tests.helpers import assert_error
from tests.hub.events.helpers import make_hook

HOOKS = "/api/namespaces/{}/webhooks"


def _count_hooks(app) -> int:
    with app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Webhook))


def test_an_owner_creates_lists_and_deletes_hooks_and_sees_the_secret_once(client, alice):
    made = make_hook(client, alice, "alice", "https://ci.example/hooks/hub", events=["tag.moved", "adapter.published"])
    assert made["secret"].startswith("whsec_") and len(base64.b64decode(made["secret"][6:])) == 32
    assert made["events"] == ["adapter.published", "tag.moved"]  # the hub's order, whatever the request's
    listed = client.get(HOOKS.format("alice"), headers=alice.headers).json()
    assert listed == [{key: made[key] for key in ("id", "url", "events", "created_at")}]
    assert made["secret"] not in client.get(HOOKS.format("alice"), headers=alice.headers).text
    assert client.delete(f"{HOOKS.format('alice')}/{made['id']}", headers=alice.headers).status_code == 204
    assert client.get(HOOKS.format("alice"), headers=alice.headers).json() == []
    gone = client.delete(f"{HOOKS.format('alice')}/{made['id']}", headers=alice.headers)
    assert_error(gone, 404, "WebhookNotFound")


def test_a_secret_given_in_the_standard_form_is_kept_and_others_are_refused(client, alice, app):
    mine = "whsec_" + base64.b64encode(b"k" * 24).decode()
    assert make_hook(client, alice, "alice", "http://127.0.0.1:9/h", secret=mine)["secret"] == mine
    for bad in ("plain-secret", "whsec_not*base64!", "whsec_" + base64.b64encode(b"short").decode()):
        body = {"url": "https://ci.example/h", "events": ["tag.moved"], "secret": bad}
        assert_error(client.post(HOOKS.format("alice"), json=body, headers=alice.headers), 400, "InvalidWebhookSecret")
    assert _count_hooks(app) == 1


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://ci.example/hook",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "gopher://ci.example/",
        "https://",
        "not a url",
        "http://ci.example/\x00",
        "http://ci.example:99999/",
    ],
)
def test_a_hook_url_that_is_not_http_or_https_is_refused(client, alice, app, url):
    body = {"url": url, "events": list(EVENT_TYPES)}
    assert_error(client.post(HOOKS.format("alice"), json=body, headers=alice.headers), 400, "InvalidWebhookUrl")
    assert _count_hooks(app) == 0


def test_unknown_or_missing_events_are_refused(client, alice, app):
    for events in (["adapter.published", "adapter.exploded"], []):
        body = {"url": "https://ci.example/h", "events": events}
        refused = assert_error(client.post(HOOKS.format("alice"), json=body, headers=alice.headers), 400,
                               "InvalidWebhookEvent")  # fmt: skip
        assert "adapter.published, tag.moved" in refused["message"]
    assert _count_hooks(app) == 0


def test_only_the_namespace_owners_manage_its_hooks(client, alice, bob, app):
    hook = make_hook(client, alice, "alice", "https://ci.example/h")
    for attempt in (
        client.post(
            HOOKS.format("alice"), json={"url": "https://x.example", "events": ["tag.moved"]}, headers=bob.headers
        ),
        client.get(HOOKS.format("alice"), headers=bob.headers),
        client.delete(f"{HOOKS.format('alice')}/{hook['id']}", headers=bob.headers),
        client.get(f"{HOOKS.format('alice')}/{hook['id']}/deliveries", headers=bob.headers),
    ):
        assert_error(attempt, 403, "Forbidden")
    assert_error(client.get(HOOKS.format("alice")), 401, "AuthenticationRequired")
    # In an organisation: a member with the write role may publish but not manage hooks; an owner may.
    assert client.post("/api/orgs", json={"name": "acme"}, headers=alice.headers).status_code == 201
    client.put("/api/orgs/acme/members/bob", json={"role": "write"}, headers=alice.headers)
    assert_error(client.get(HOOKS.format("acme"), headers=bob.headers), 403, "Forbidden")
    client.put("/api/orgs/acme/members/bob", json={"role": "owner"}, headers=alice.headers)
    assert make_hook(client, bob, "acme", "https://ci.example/acme")["id"] > hook["id"]
    # A hook is found only under its own namespace.
    assert_error(client.delete(f"{HOOKS.format('acme')}/{hook['id']}", headers=bob.headers), 404, "WebhookNotFound")
    assert_error(client.get(HOOKS.format("nobody"), headers=alice.headers), 404, "NamespaceNotFound")
