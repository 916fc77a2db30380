"""Small steps the webhook tests share: make a hook over the API, read a hook's delivery log."""

from __future__ import annotations

from typing import Any

from hub.events.outbox import EVENT_TYPES


def make_hook(client, account, namespace: str, url: str, events: list[str] | None = None, **body: Any) -> dict:
    answer = client.post(
        f"/api/namespaces/{namespace}/webhooks",
        json={"url": url, "events": list(events or EVENT_TYPES), **body},
        headers=account.headers,
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def delivery_log(client, account, namespace: str, hook_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/api/namespaces/{namespace}/webhooks/{hook_id}/deliveries", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()
