"""Managing from the web over TestClient, on both backends: organisations and members, an adapter's settings
(visibility, tags, deleting a version or the adapter), tokens' scopes and expiry; and every state-changing form
of the web UI refuses a POST without the CSRF token, or with a forged one, and changes nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import Base
from tests.fixtures.hub import make_account
from tests.helpers import publish, tiny_lora_files
from tests.signing_support import make_key
from tests.web.test_pages import HTML, csrf_of, sign_in
from web.pages import ROUTERS

SETTINGS = "/alice/lora/settings"


@pytest.fixture
def app(settings):
    """The shared app without the webhook worker: nothing changes rows behind the tests' backs."""
    from hub.app import create_app

    application = create_app(settings.model_copy(update={"webhook_delivery": False}))
    yield application
    application.state.engine.dispose()


def _post(client, path: str, **fields: Any):
    return client.post(path, data={"csrf": csrf_of(client, "/login"), **fields}, headers=HTML)


def _members(client, account, org: str = "team") -> dict[str, str]:
    return {m["user"]: m["role"] for m in client.get(f"/api/orgs/{org}/members", headers=account.headers).json()}


def _two_versions(client, alice) -> None:
    assert publish(client, alice, "alice/lora", tiny_lora_files(seed=0)).status_code == 201
    assert publish(client, alice, "alice/lora", tiny_lora_files(seed=1)).status_code == 201


def _info(client, account) -> dict[str, Any]:
    return client.get("/api/adapters/alice/lora", headers=account.headers).json()


# --- organisations ---------------------------------------------------------------------------------------------


def test_creating_an_organisation_makes_you_its_owner(client, alice):
    assert client.get("/orgs/new", follow_redirects=False).headers["location"] == "/login?next=/orgs/new"
    sign_in(client, alice)
    made = client.post("/orgs/new", data={"csrf": csrf_of(client, "/orgs/new"), "name": "team"}, follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/settings/team/members"
    assert _members(client, alice) == {"alice": "owner"}
    taken = _post(client, "/orgs/new", name="alice")
    assert taken.status_code == 400 and "taken" in taken.text and 'value="alice"' in taken.text
    reserved = _post(client, "/orgs/new", name="settings")
    assert reserved.status_code == 400 and "reserved" in reserved.text
    page = client.get("/alice", headers=HTML).text
    assert 'href="/orgs/new"' in page


def test_owners_add_change_and_remove_members_and_the_last_owner_stays(client, alice, bob, app):
    sign_in(client, alice)
    _post(client, "/orgs/new", name="team")
    page = "/settings/team/members"
    added = _post(client, page, name="bob", role="read")
    assert added.status_code == 200 and "bob is now read of team" in added.text
    assert _members(client, alice) == {"alice": "owner", "bob": "read"}
    changed = _post(client, f"{page}/bob/role", role="write")
    assert changed.status_code == 200 and _members(client, alice)["bob"] == "write"
    unknown = _post(client, page, name="nobody", role="read")
    assert unknown.status_code == 404 and "No user is called &#39;nobody&#39;" in unknown.text
    bad_role = _post(client, f"{page}/bob/role", role="king")
    assert bad_role.status_code == 422 and "not one of" in bad_role.text and _members(client, alice)["bob"] == "write"
    last = _post(client, f"{page}/alice/remove")
    assert last.status_code == 422 and "no owner left" in last.text
    demoted = _post(client, f"{page}/alice/role", role="write")
    assert demoted.status_code == 422 and _members(client, alice)["alice"] == "owner"
    removed = _post(client, f"{page}/bob/remove")
    assert removed.status_code == 200 and "no longer a member" in removed.text
    assert _members(client, alice) == {"alice": "owner"}
    links = client.get("/team", headers=HTML).text
    assert 'href="/settings/team/members"' in links and 'href="/invite"' in links


def test_members_read_the_list_outsiders_get_404_and_writers_are_refused(client, alice, bob, app):
    sign_in(client, alice)
    _post(client, "/orgs/new", name="team")
    _post(client, "/settings/team/members", name="bob", role="write")
    carol = make_account(app, "carol")
    client.post("/logout", data={"csrf": csrf_of(client)})
    sign_in(client, bob)
    listed = client.get("/settings/team/members", headers=HTML)
    assert listed.status_code == 200 and "alice" in listed.text and "Add member" not in listed.text
    assert 'href="/settings/team/members"' in client.get("/team", headers=HTML).text
    assert 'href="/invite"' not in client.get("/team", headers=HTML).text
    refused = _post(client, "/settings/team/members", name="carol", role="owner")
    assert refused.status_code == 403 and "owner role" in refused.text
    client.post("/logout", data={"csrf": csrf_of(client)})
    sign_in(client, carol)
    assert client.get("/settings/team/members", headers=HTML).status_code == 404
    assert 'href="/settings/team/members"' not in client.get("/team", headers=HTML).text
    assert client.get("/settings/nobody/members", headers=HTML).status_code == 404


def test_an_owner_who_leaves_goes_to_the_organisation_page(client, alice, bob):
    sign_in(client, alice)
    _post(client, "/orgs/new", name="team")
    _post(client, "/settings/team/members", name="bob", role="owner")
    left = client.post(
        "/settings/team/members/alice/remove", data={"csrf": csrf_of(client)}, headers=HTML, follow_redirects=False
    )
    assert left.status_code == 303 and left.headers["location"] == "/team"
    assert client.get("/api/orgs/team/members", headers=bob.headers).json()[0]["user"] == "bob"


# --- an adapter's settings -------------------------------------------------------------------------------------


def test_visibility_from_the_settings_page_hides_the_adapter_from_outsiders(client, alice, bob):
    _two_versions(client, alice)
    sign_in(client, alice)
    assert f'href="{SETTINGS}"' in client.get("/alice/lora", headers=HTML).text
    made = _post(client, f"{SETTINGS}/visibility", private="yes")
    assert made.status_code == 200 and "alice/lora is now private" in made.text
    assert client.get("/api/adapters/alice/lora", headers=bob.headers).status_code == 404
    assert _info(client, alice)["private"] is True
    assert _post(client, f"{SETTINGS}/visibility", private="maybe").status_code == 422
    assert _info(client, alice)["private"] is True


def _audited(app, action: str) -> list[str]:
    from hub.audit import AuditEvent

    with app.state.session_factory() as session:
        return list(session.scalars(select(AuditEvent.subject).where(AuditEvent.action == action)))


def test_tags_move_and_delete_with_confirmation_and_main_is_refused(client, alice, app):
    _two_versions(client, alice)
    sign_in(client, alice)
    moved = _post(client, f"{SETTINGS}/tags", tag="stable", revision="v1")
    assert moved.status_code == 200 and "stable now points at v1" in moved.text
    assert _info(client, alice)["refs"]["stable"] == "v1"
    main = _post(client, f"{SETTINGS}/tags", tag="main", revision="v1")
    assert main.status_code == 400 and "always points at the latest" in main.text
    bad = _post(client, f"{SETTINGS}/tags", tag="no spaces", revision="v1")
    assert bad.status_code == 400 and 'value="no spaces"' in bad.text
    missing = _post(client, f"{SETTINGS}/tags", tag="stable", revision="v9")
    assert missing.status_code == 404 and _info(client, alice)["refs"]["stable"] == "v1"
    unconfirmed = _post(client, f"{SETTINGS}/tags/stable/delete", confirm="stabl")
    assert unconfirmed.status_code == 422 and "type stable to confirm" in unconfirmed.text
    assert _info(client, alice)["refs"]["stable"] == "v1"
    deleted = _post(client, f"{SETTINGS}/tags/stable/delete", confirm="stable")
    assert deleted.status_code == 200 and "stable" not in _info(client, alice)["refs"]
    assert _audited(app, "delete.tag") == ["alice/lora:stable"]
    assert _post(client, f"{SETTINGS}/tags/main/delete", confirm="main").status_code == 400
    assert _post(client, f"{SETTINGS}/tags/gone/delete", confirm="gone").status_code == 404


def test_deleting_a_version_falls_back_and_deleting_the_adapter_needs_its_name(client, alice):
    _two_versions(client, alice)
    sign_in(client, alice)
    assert _post(client, f"{SETTINGS}/versions/v2/delete", confirm="v1").status_code == 422
    assert _info(client, alice)["refs"]["main"] == "v2"
    deleted = _post(client, f"{SETTINGS}/versions/v2/delete", confirm="v2")
    assert deleted.status_code == 200 and "v2 was deleted" in deleted.text
    assert _info(client, alice)["refs"]["main"] == "v1"
    refused = _post(client, f"{SETTINGS}/delete", confirm="lora")
    assert refused.status_code == 422 and client.get("/api/adapters/alice/lora").status_code == 200
    gone = client.post(
        f"{SETTINGS}/delete", data={"csrf": csrf_of(client), "confirm": "alice/lora"}, follow_redirects=False
    )
    assert gone.status_code == 303 and gone.headers["location"] == "/alice"
    assert client.get("/api/adapters/alice/lora").status_code == 404


def test_writers_change_tags_owners_delete_and_others_see_no_settings(client, alice, bob, app):
    sign_in(client, alice)
    _post(client, "/orgs/new", name="team")
    _post(client, "/settings/team/members", name="bob", role="write")
    assert publish(client, alice, "team/lora", tiny_lora_files()).status_code == 201
    carol = make_account(app, "carol")
    client.post("/logout", data={"csrf": csrf_of(client)})
    sign_in(client, bob)
    page = "/team/lora/settings"
    assert client.get(page, headers=HTML).status_code == 200
    assert _post(client, f"{page}/tags", tag="stable", revision="v1").status_code == 200
    refused = _post(client, f"{page}/delete", confirm="team/lora")
    assert refused.status_code == 403 and "owner role" in refused.text
    assert client.get("/api/adapters/team/lora").status_code == 200
    _post(client, f"{page}/visibility", private="yes")
    client.post("/logout", data={"csrf": csrf_of(client)})
    sign_in(client, carol)
    assert client.get(page, headers=HTML).status_code == 404  # private: as if missing
    assert client.get("/team/lora", headers=HTML).status_code == 404
    assert _post(client, f"{page}/visibility", private="no").status_code == 404
    client.post("/logout", data={"csrf": csrf_of(client)})
    assert client.get(page, follow_redirects=False).headers["location"].startswith("/login?next=")


def test_tokens_made_on_the_web_hold_their_scopes_and_expiry(client, alice):
    sign_in(client, alice)
    made = _post(client, "/tokens", name="ci", scopes="read", expires_days="2")
    token = re.search(r'<code id="new-token">([^<]+)</code>', made.text).group(1)
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {token}"}).json()["scopes"] == ["read"]
    [listed] = [t for t in client.get("/api/tokens", headers=alice.headers).json() if t["name"] == "ci"]
    lifetime = datetime.fromisoformat(listed["expires_at"]) - datetime.fromisoformat(listed["created_at"])
    assert timedelta(days=2) - timedelta(minutes=1) < lifetime <= timedelta(days=2)
    refused = client.post("/api/orgs", json={"name": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403


# --- CSRF on every state-changing form ------------------------------------------------------------------------


def _snapshot(app) -> dict[str, list]:
    """Every row of every table (but when a token was last used, which a request may touch) and the storage keys."""
    state: dict[str, list] = {"keys": sorted(app.state.storage.list(""))}
    with app.state.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_at"]
            rows = session.execute(select(*columns)).all()
            state[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return state


def _forms(client, app, alice, tmp_path) -> list[tuple[str, dict[str, Any]]]:
    """Every POST form of the web UI, with fields that would succeed if the CSRF token were right."""
    from hub.accounts.invitations import InvitationService
    from hub.accounts.permissions import acting_as
    from hub.accounts.service import AccountService
    from hub.db import unit_of_work
    from hub.events.hooks import WebhookService

    _post(client, "/orgs/new", name="team")
    _post(client, "/settings/team/members", name="bob", role="read")
    _two_versions(client, alice)
    with unit_of_work(app.state.session_factory) as session:
        caller = acting_as(session, AccountService(session).user("alice"))
        hook = WebhookService(session).create(caller, "alice", "http://127.0.0.1:9/hook", ["tag.moved"], None)
        secret, _ = InvitationService(session).invite(caller, "dave", org="team", role="read")
        session.flush()
        hook_id = hook.id
    _post(client, SETTINGS + "/tags", tag="stable", revision="v1")  # a delivery to redeliver
    token_id = re.search(r'action="/tokens/(\d+)/revoke"', client.get("/tokens", headers=HTML).text).group(1)
    delivery = re.search(r"/deliveries/(\d+)/redeliver", client.get("/settings/alice/webhooks").text).group(1)
    hooks = f"/settings/alice/webhooks/{hook_id}"
    key_id = _signer_key(client, tmp_path)
    return [
        ("/login", {"token": alice.token}),
        ("/logout", {}),
        ("/tokens", {"name": "forged", "scopes": "read"}),
        (f"/tokens/{token_id}/revoke", {}),
        ("/new", {"namespace": "alice", "name": "forged", "files": ""}),
        ("/invite", {"name": "eve", "org": "team", "role": "owner"}),
        (f"/invite/{secret}", {}),
        ("/alice/lora/compat", {"structure": "a.q_proj 64 64"}),
        ("/settings/alice/webhooks", {"url": "http://127.0.0.1:9/forged", "events": "tag.moved"}),
        (f"{hooks}/delete", {"confirm": "yes"}),
        (f"{hooks}/deliveries/{delivery}/redeliver", {}),
        ("/orgs/new", {"name": "forged-org"}),
        ("/settings/team/members", {"name": "carol", "role": "owner"}),
        ("/settings/team/members/bob/role", {"role": "owner"}),
        ("/settings/team/members/bob/remove", {}),
        (f"{SETTINGS}/visibility", {"private": "yes"}),
        (f"{SETTINGS}/tags", {"tag": "stable", "revision": "v2"}),
        (f"{SETTINGS}/tags/stable/delete", {"confirm": "stable"}),
        (f"{SETTINGS}/versions/v2/delete", {"confirm": "v2"}),
        (f"{SETTINGS}/delete", {"confirm": "alice/lora"}),
        ("/settings/alice/keys", {"public_key": make_key(tmp_path, "forged").public_pem, "name": "forged"}),
        (f"/settings/alice/keys/{key_id}/revoke", {"confirm": "yes"}),
        ("/settings/alice/keys/policy", {"require": "yes"}),
    ]


def _signer_key(client, tmp_path) -> str:
    """A key on alice's namespace, added through its own form, for the revoke form to aim at."""
    form = {"csrf": csrf_of(client, "/settings/alice/keys"), "public_key": make_key(tmp_path).public_pem, "name": "ok"}
    assert client.post("/settings/alice/keys", data=form, follow_redirects=False).status_code == 303
    return client.get("/api/namespaces/alice/keys").json()[0]["key_id"]


def test_every_state_changing_form_refuses_a_missing_or_forged_csrf_token(client, alice, bob, app, tmp_path):
    sign_in(client, alice)
    make_account(app, "carol")
    forms = _forms(client, app, alice, tmp_path)
    posted = {route.path for module in ROUTERS for route in module.router.routes if "POST" in route.methods}
    assert len(posted) == len(forms)  # a new form of the web UI joins this table
    before = _snapshot(app)
    for path, fields in forms:
        for forged in ({}, {"csrf": "forged"}):
            refused = client.post(path, data={**fields, **forged}, headers=HTML)
            assert refused.status_code == 403 and "another site" in refused.text, path
    assert _snapshot(app) == before
    assert client.get("/tokens", headers=HTML, follow_redirects=False).status_code == 200  # still signed in
