"""The first-user story without the server's console (issue 17 item 4): an administrator or an organisation
owner invites by link; the link creates the account (and membership) and shows the first token, once."""

from __future__ import annotations

import re

from hub.accounts.orgs import OrgService
from hub.accounts.permissions import acting_as
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from tests.fixtures.hub import make_account
from tests.helpers import assert_error, publish, tiny_lora_files
from tests.web.test_pages import csrf_of, sign_in


def _org(app, owner: str, org: str) -> None:
    with unit_of_work(app.state.session_factory) as session:
        OrgService(session).create(acting_as(session, AccountService(session).user(owner)), org)


def test_an_owner_invites_a_new_member_who_then_reads_private_adapters(app, client, alice):
    _org(app, "alice", "acme")
    assert publish(client, alice, "acme/secret", tiny_lora_files(seed=1), private=True).status_code == 201
    made = client.post("/api/invitations", json={"name": "carol", "org": "acme", "role": "read"}, headers=alice.headers)
    assert made.status_code == 201, made.text
    secret = made.json()["url"].rsplit("/", 1)[1]
    accepted = client.post("/api/invitations/accept", json={"invitation": secret})
    assert accepted.status_code == 201 and accepted.json()["name"] == "carol"
    carol = {"Authorization": f"Bearer {accepted.json()['token']}"}
    assert client.get("/api/adapters/acme/secret", headers=carol).status_code == 200
    assert client.get("/api/whoami", headers=carol).json()["namespaces"] == ["carol", "acme"]
    again = client.post("/api/invitations/accept", json={"invitation": secret})
    assert_error(again, 404, "InvitationNotFound")  # single use


def test_who_may_invite(app, client, alice, bob):
    _org(app, "alice", "acme")
    assert_error(client.post("/api/invitations", json={"name": "x1"}, headers=alice.headers), 403, "InsufficientScope")
    by_outsider = client.post("/api/invitations", json={"name": "x2", "org": "acme"}, headers=bob.headers)
    assert_error(by_outsider, 403, "Forbidden")
    root = make_account(app, "root", admin=True)
    assert client.post("/api/invitations", json={"name": "x3"}, headers=root.headers).status_code == 201
    taken = client.post("/api/invitations", json={"name": "Bob"}, headers=root.headers)
    assert_error(taken, 400, "InvalidName")  # names are unique ignoring case
    assert_error(client.post("/api/invitations/accept", json={"invitation": "hub_nope"}), 404, "InvitationNotFound")


def test_the_web_invitation_flow_signs_the_new_user_in(app, client, alice):
    _org(app, "alice", "acme")
    sign_in(client, alice)
    form = {"name": "dave", "org": "acme", "role": "write", "csrf": csrf_of(client, "/invite")}
    page = client.post("/invite", data=form)
    assert page.status_code == 200
    link = re.search(r'id="invitation-link">([^<]+)<', page.text).group(1)
    client.cookies.clear()
    path = link.replace("http://testserver", "")
    welcome = client.get(path)
    assert welcome.status_code == 200 and "acme" in welcome.text
    accepted = client.post(path, data={"csrf": csrf_of(client, path)})
    assert accepted.status_code == 201
    token = re.search(r'id="first-token">([^<]+)<', accepted.text).group(1)
    assert client.get("/tokens").status_code == 200  # signed in as dave
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).json()["name"] == "dave"
    new_dave = {"name": "dave", "token": token}
    assert publish(client, type("A", (), {**new_dave, "headers": {"Authorization": f"Bearer {token}"}}),
                   "acme/by-dave", tiny_lora_files(seed=2)).status_code == 201  # fmt: skip
