"""Managing from the web in a real headless Chromium against a live hub (SQLite): an organisation and its
members, then an adapter's visibility, tags and versions, all through the forms; the new pages at 375 px."""

from __future__ import annotations

import pytest

from tests.fixtures.hub import make_account
from tests.helpers import publish, tiny_lora_files
from tests.web.conftest import sqlite_only
from tests.web.test_layout_browser import MOBILE, assert_no_sideways_scroll

pytestmark = [pytest.mark.browser, sqlite_only]


def sign_in(page, live_hub: str, account) -> None:
    page.goto(f"{live_hub}/login")
    page.fill("#token", account.token)
    page.click("form[action='/login'] button")


def _refs(page, live_hub: str, account) -> dict[str, str]:
    return page.request.get(f"{live_hub}/api/adapters/team/lora", headers=account.headers).json()["refs"]


def test_an_org_its_members_and_an_adapters_settings_through_the_forms(
    page, chromium, live_hub, client, alice, bob, app, console
):
    sign_in(page, live_hub, alice)
    page.goto(f"{live_hub}/alice")
    page.click("a[href='/orgs/new']")
    page.fill("#org-name", "team")
    page.click("form[action='/orgs/new'] button")
    assert page.url == f"{live_hub}/settings/team/members"
    page.fill("#member-name", "bob")
    page.select_option("#member-role", "write")
    page.click("#add-member button")
    assert "bob is now write of team" in page.inner_text(".notice")
    assert page.inner_text("#member-bob .role") == "write"
    members = page.request.get(f"{live_hub}/api/orgs/team/members", headers=bob.headers).json()
    assert {m["user"]: m["role"] for m in members} == {"alice": "owner", "bob": "write"}

    for seed in (0, 1):
        assert publish(client, alice, "team/lora", tiny_lora_files(seed=seed)).status_code == 201
    page.goto(f"{live_hub}/team/lora")
    page.click("a[href='/team/lora/settings']")
    page.check("input[name=private][value=yes]")
    page.click("#visibility button")
    assert "team/lora is now private" in page.inner_text(".notice")
    carol = make_account(app, "carol")
    outsider = chromium.new_context()
    other = outsider.new_page()
    sign_in(other, live_hub, carol)
    assert other.goto(f"{live_hub}/team/lora").status == 404
    assert other.request.get(f"{live_hub}/api/adapters/team/lora", headers=carol.headers).status == 404
    outsider.close()

    page.fill("#tag-name", "stable")
    page.select_option("#tag-version", "v1")
    page.click("#tag-form button")
    assert "stable now points at v1" in page.inner_text(".notice")
    assert _refs(page, live_hub, alice) == {"main": "v2", "stable": "v1"}
    page.fill("#confirm-v2", "v2")
    page.click("#delete-v2 button")
    assert "v2 was deleted" in page.inner_text(".notice")
    assert _refs(page, live_hub, alice) == {"main": "v1", "stable": "v1"}
    assert console.errors == []


def test_the_management_pages_do_not_scroll_sideways_at_375px(chromium, live_hub, client, alice, console):
    adapter = "/alice/a-rather-long-adapter-name-for-a-phone"
    assert publish(client, alice, adapter[1:], tiny_lora_files()).status_code == 201
    tagged = client.put(
        f"/api/adapters{adapter}/refs/release-candidate", json={"revision": "v1"}, headers=alice.headers
    )
    assert tagged.status_code == 200
    context = chromium.new_context(viewport=MOBILE)
    page = context.new_page()
    page.on("pageerror", console.uncaught)
    sign_in(page, live_hub, alice)
    page.goto(f"{live_hub}/orgs/new")
    page.fill("#org-name", "team")
    page.click("form[action='/orgs/new'] button")
    for path in ("/orgs/new", "/settings/team/members", f"{adapter}/settings", "/team", "/alice", adapter):
        assert_no_sideways_scroll(page, live_hub + path)
    assert console.errors == []
    context.close()
