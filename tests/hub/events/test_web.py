"""The webhooks page (/settings/{namespace}/webhooks) over TestClient, on both backends: create (the secret
shown once), delete with confirmation, the delivery log and redelivery; every form needs the CSRF token."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from hub.models import Webhook, WebhookDelivery
from tests.helpers import publish, tiny_lora_files
from tests.web.test_pages import HTML, csrf_of, sign_in

PAGE = "/settings/alice/webhooks"


def _rows(app, model) -> int:
    with app.state.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def _create(client, csrf: str, url: str, **fields):
    data = {"csrf": csrf, "url": url, "events": ["adapter.published", "tag.moved"], **fields}
    return client.post(PAGE, data=data, headers=HTML)


def test_the_page_creates_shows_the_secret_once_logs_redelivers_and_deletes(client, alice, app, receiver):
    sign_in(client, alice)
    csrf = csrf_of(client, PAGE)
    created = _create(client, csrf, receiver.url())
    assert created.status_code == 201, created.text
    secret = re.search(r'<code id="new-secret">(whsec_[A-Za-z0-9+/=]+)</code>', created.text).group(1)
    assert receiver.url() in created.text
    assert secret not in client.get(PAGE, headers=HTML).text  # shown once

    publish(client, alice, "alice/lora", tiny_lora_files())
    receiver.wait_for("/hook", 1)
    [hook_id] = re.findall(r'id="webhook-(\d+)"', client.get(PAGE, headers=HTML).text)
    page = _wait_for_text(client, "succeeded")
    assert "adapter.published" in page and "<td>200" in page
    delivery = re.search(rf"/webhooks/{hook_id}/deliveries/(\d+)/redeliver", page).group(1)
    again = client.post(f"{PAGE}/{hook_id}/deliveries/{delivery}/redeliver", data={"csrf": csrf}, headers=HTML,
                        follow_redirects=False)  # fmt: skip
    assert again.status_code == 303 and again.headers["location"] == PAGE
    assert len(receiver.wait_for("/hook", 2)) == 2

    unconfirmed = client.post(f"{PAGE}/{hook_id}/delete", data={"csrf": csrf}, headers=HTML)
    assert unconfirmed.status_code == 400 and "tick the box" in unconfirmed.text and _rows(app, Webhook) == 1
    deleted = client.post(f"{PAGE}/{hook_id}/delete", data={"csrf": csrf, "confirm": "yes"}, headers=HTML)
    assert deleted.status_code == 200 and "has no webhooks yet" in deleted.text  # after the 303 back
    assert _rows(app, Webhook) == 0 and _rows(app, WebhookDelivery) == 0


def test_a_refused_hook_explains_and_keeps_the_form(client, alice, app):
    sign_in(client, alice)
    refused = _create(client, csrf_of(client, PAGE), "javascript:alert(1)")
    assert refused.status_code == 400 and "http:// or https://" in refused.text
    assert 'value="javascript:alert(1)"' in refused.text and _rows(app, Webhook) == 0


def test_every_webhook_form_refuses_a_post_without_the_csrf_token(client, alice, app, receiver):
    sign_in(client, alice)
    csrf = csrf_of(client, PAGE)
    assert _create(client, csrf, receiver.url()).status_code == 201
    publish(client, alice, "alice/lora", tiny_lora_files())
    receiver.wait_for("/hook", 1)
    hook_id, delivery = re.search(
        r"/webhooks/(\d+)/deliveries/(\d+)/redeliver", _wait_for_text(client, "succeeded")
    ).groups()
    before = (_rows(app, Webhook), _rows(app, WebhookDelivery))
    forms = [
        (PAGE, {"url": receiver.url("/forged"), "events": ["tag.moved"]}),
        (f"{PAGE}/{hook_id}/delete", {"confirm": "yes"}),
        (f"{PAGE}/{hook_id}/deliveries/{delivery}/redeliver", {}),
    ]
    for path, fields in forms:
        for forged in ({}, {"csrf": "forged"}):
            refused = client.post(path, data={**fields, **forged}, headers=HTML)
            assert refused.status_code == 403 and "another site" in refused.text, path
    assert (_rows(app, Webhook), _rows(app, WebhookDelivery)) == before


def test_only_owners_see_the_page_and_signed_out_visitors_are_sent_to_sign_in(client, alice, bob):
    assert client.get(PAGE, headers=HTML, follow_redirects=False).headers["location"].startswith("/login?next=")
    sign_in(client, bob)
    refused = client.get(PAGE, headers=HTML)
    assert refused.status_code == 403 and "owner" in refused.text


def _wait_for_text(client, text: str, timeout: float = 10) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in (page := client.get(PAGE, headers=HTML).text):
            return page
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never showed on {PAGE}")
