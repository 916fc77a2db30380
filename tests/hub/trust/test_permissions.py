"""The permission matrix over the JSON API: each role against each action, on both backends.

Roles: anonymous, a member with read, write or owner in the organisation `acme`, another user, and an
admin. A private adapter answers exactly as a missing one (404 AdapterNotFound) to those without a role.
"""

from __future__ import annotations

import pytest

from hub.accounts.service import AccountService
from hub.db import unit_of_work
from tests.fixtures.hub import Account, make_account, make_org
from tests.helpers import publish, tiny_lora_files

ROLES = ["anonymous", "reader", "writer", "owner", "other", "admin"]
CONFIG = "/versions/main/files/adapter_config.json"


@pytest.fixture
def world(app, client):
    """acme (org) with owner/writer/reader, a public and a private adapter in it, and outsiders."""
    accounts = {name: make_account(app, name) for name in ("owner", "writer", "reader", "other")}
    accounts["admin"] = make_account(app, "root", admin=True)
    make_org(app, "acme", "owner", {"writer": "write", "reader": "read"})
    owner = accounts["owner"]
    assert publish(client, owner, "acme/open", tiny_lora_files(seed=1)).status_code == 201
    assert (
        publish(client, owner, "acme/secret", tiny_lora_files(seed=2), private=True, tags=["hush"]).status_code == 201
    )
    accounts["anonymous"] = Account("anonymous", "")
    return accounts


def _headers(account: Account) -> dict[str, str]:
    return account.headers if account.token else {}


ALLOWED = {
    "read public": set(ROLES),
    "read private": {"reader", "writer", "owner", "admin"},
    "publish": {"writer", "owner", "admin"},
    "tag": {"writer", "owner", "admin"},
    "change visibility": {"writer", "owner", "admin"},
    "delete version": {"owner", "admin"},
    "manage members": {"owner", "admin"},
}


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, world, role):
    account = world[role]
    h = _headers(account)
    results = {
        "read public": client.get("/api/adapters/acme/open", headers=h).status_code == 200
        and client.get("/api/adapters/acme/open" + CONFIG, headers=h).status_code == 200,
        "read private": _reads_private(client, h),
        "publish": _publishes(client, account),
        "tag": client.put("/api/adapters/acme/open/refs/stable", json={"revision": "v1"}, headers=h).status_code == 200,
        "change visibility": client.patch("/api/adapters/acme/open", json={"private": False}, headers=h).status_code
        == 200,
        "delete version": _deletes_a_version(client, world, h),
        "manage members": client.put("/api/orgs/acme/members/other", json={"role": "read"}, headers=h).status_code
        == 200,
    }
    expected = {action: role in allowed for action, allowed in ALLOWED.items()}
    assert results == expected


def _reads_private(client, h) -> bool:
    info = client.get("/api/adapters/acme/secret", headers=h)
    download = client.get("/api/adapters/acme/secret" + CONFIG, headers=h)
    found = client.get("/api/adapters", params={"tag": "hush"}, headers=h).json()
    tags = {f["value"] for f in client.get("/api/adapters", headers=h).json()["facets"]["tag"]}
    visible = [info.status_code == 200, download.status_code == 200, found["total"] == 1, "hush" in tags]
    if not any(visible):  # hidden exactly as a missing adapter would be
        assert info.status_code == 404 and info.headers["X-Error-Code"] == "AdapterNotFound"
        assert info.json()["error"]["message"] == "No adapter is called acme/secret."
        assert download.headers["X-Error-Code"] == "AdapterNotFound"
    assert all(visible) or not any(visible)
    return all(visible)


def _publishes(client, account: Account) -> bool:
    if not account.token:
        return False
    response = publish_or_error(client, account)
    return response == 201


def publish_or_error(client, account: Account) -> int:
    from tests.helpers import start_upload

    started = start_upload(client, account, "acme/new-one", tiny_lora_files(seed=3))
    if started.status_code != 201:
        assert started.status_code in (401, 403), started.text
        return started.status_code
    return publish(client, account, "acme/new-one", tiny_lora_files(seed=3)).status_code


def _deletes_a_version(client, world, h) -> bool:
    publish(client, world["owner"], "acme/open", tiny_lora_files(seed=9))  # a v2 to delete
    response = client.delete("/api/adapters/acme/open/versions/v2", headers=h)
    return response.status_code == 204


def test_read_scope_tokens_cannot_write(app, client, world):
    with unit_of_work(app.state.session_factory) as session:
        users = AccountService(session)
        token = users.create_token(users.user("writer"), scopes=["read"])
    reader_token = Account("writer", token)
    assert client.get("/api/adapters/acme/secret", headers=reader_token.headers).status_code == 200
    response = client.put("/api/adapters/acme/open/refs/x", json={"revision": "v1"}, headers=reader_token.headers)
    assert response.status_code == 403 and response.headers["X-Error-Code"] == "InsufficientScope"


def test_audit_log_is_for_admins(client, world):
    assert client.get("/api/audit", headers=world["owner"].headers).headers["X-Error-Code"] == "InsufficientScope"
    events = client.get("/api/audit", headers=world["admin"].headers).json()
    actions = {(e["action"], e["subject"], e["actor"]) for e in events}
    assert ("publish", "acme/secret@v1", "owner") in actions
    assert ("member.set", "acme/writer", "owner") in actions
    assert ("org.create", "acme", "owner") in actions


def test_members_and_last_owner(client, world):
    members = client.get("/api/orgs/acme/members", headers=world["reader"].headers).json()
    assert {(m["user"], m["role"]) for m in members} == {("owner", "owner"), ("writer", "write"), ("reader", "read")}
    assert client.get("/api/orgs/acme/members", headers=world["other"].headers).status_code == 403
    last = client.put("/api/orgs/acme/members/owner", json={"role": "read"}, headers=world["owner"].headers)
    assert last.status_code == 422 and "no owner" in last.json()["error"]["message"]


def test_visibility_change_takes_effect_everywhere(client, world):
    owner = world["owner"].headers
    assert client.get("/api/adapters/acme/open").status_code == 200
    assert client.patch("/api/adapters/acme/open", json={"private": True}, headers=owner).status_code == 200
    assert client.get("/api/adapters/acme/open").status_code == 404
    assert client.get("/api/adapters", params={"q": "open"}).json()["total"] == 0
    assert client.get("/api/adapters/acme/open", headers=world["reader"].headers).status_code == 200
