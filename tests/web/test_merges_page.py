"""A source adapter's page and API answer list the merges made from it: only those the viewer may see, once per
merged adapter (its newest merged version), and none once the merged adapter is deleted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.maintenance.gc import collect_garbage
from hub.models import MergeSource
from tests.helpers import publish, tiny_lora_files
from tests.web.conftest import sqlite_only
from tests.web.test_layout_browser import MOBILE, assert_no_sideways_scroll
from tests.web.test_manage_browser import sign_in as sign_in_browser
from tests.web.test_pages import sign_in

MERGED_CARD = b"---\nbase_model: tiny/llama-test\nmerge_method: ties\n---\n# a merge\n"


def _merge(client, account, name: str, source: dict, weight: float, seed: int, **meta) -> dict:
    """Publish `name` as a merge of `source` (a publish answer) with `weight`; its card records the method."""
    files = {**tiny_lora_files(seed=seed), "README.md": MERGED_CARD}
    lineage = [{"adapter": source["adapter"], "revision": source["revision"], "weight": weight}]
    response = publish(client, account, name, files, lineage=lineage, **meta)
    assert response.status_code == 201, response.text
    return response.json()


def _api_merges(client, account=None) -> list[tuple[str, str, float]]:
    """(merged adapter, version, weight) of alice/source's API answer, as `account` (None: anonymous) sees it."""
    headers = account.headers if account else {}
    answer = client.get("/api/adapters/alice/source", headers=headers)
    assert answer.status_code == 200, answer.text
    return [(merge["adapter"], merge["version"], merge["weight"]) for merge in answer.json()["merges"]]


def _page_merges(client, account=None) -> list[str]:
    """The merged adapters linked under "Merges made from this adapter" on alice/source's page, as `account`
    (signed in with the web form; None: anonymous) sees it."""
    client.cookies.clear()
    if account:
        sign_in(client, account)
    html = client.get("/alice/source").text
    client.cookies.clear()
    section = re.search(r'<section id="merges".*?</section>', html, re.DOTALL)
    return re.findall(r'<a href="/([^"]+)">', section.group(0)) if section else []


def test_source_lists_visible_merges_once_and_forgets_deleted_ones(client, alice, bob):
    source = publish(client, alice, "alice/source", tiny_lora_files(seed=1)).json()
    _merge(client, alice, "alice/open-merge", source, 0.6, seed=2)
    _merge(client, alice, "alice/open-merge", source, 0.5, seed=3)  # v2, the same source: listed once, as v2
    _merge(client, alice, "alice/own-merge", source, 0.4, seed=4, private=True)
    _merge(client, bob, "bob/hidden-merge", source, 0.3, seed=5, private=True)
    assert _api_merges(client, alice) == [("alice/open-merge", "v2", 0.5), ("alice/own-merge", "v1", 0.4)]
    assert _api_merges(client, bob) == [("alice/open-merge", "v2", 0.5), ("bob/hidden-merge", "v1", 0.3)]
    assert _api_merges(client) == [("alice/open-merge", "v2", 0.5)]
    for account in (alice, bob, None):  # the page and the API agree, viewer by viewer
        assert _page_merges(client, account) == [name for name, _, _ in _api_merges(client, account)]
    assert client.get("/api/adapters/alice/source").json()["merges"][0]["method"] == "ties"
    assert client.delete("/api/adapters/alice/open-merge", headers=alice.headers).status_code == 204
    assert _api_merges(client, alice) == [("alice/own-merge", "v1", 0.4)]
    assert _api_merges(client) == [] and _page_merges(client) == []
    assert "Merges made from this adapter" not in client.get("/alice/source").text


def test_a_merge_of_a_deleted_source_version_is_no_longer_listed(client, alice):
    first = publish(client, alice, "alice/source", tiny_lora_files(seed=1)).json()
    second = publish(client, alice, "alice/source", tiny_lora_files(seed=2)).json()
    _merge(client, alice, "alice/of-v1", first, 0.6, seed=3)
    _merge(client, alice, "alice/of-v2", second, 0.4, seed=4)
    assert _api_merges(client) == [("alice/of-v1", "v1", 0.6), ("alice/of-v2", "v1", 0.4)]
    deleted = client.delete(f"/api/adapters/alice/source/versions/{first['revision']}", headers=alice.headers)
    assert deleted.status_code == 204, deleted.text
    assert _api_merges(client) == [("alice/of-v2", "v1", 0.4)] and _page_merges(client) == ["alice/of-v2"]


def test_gc_purges_a_deleted_source_and_its_index_rows_but_keeps_the_merge(app, client, alice):
    source = publish(client, alice, "alice/source", tiny_lora_files(seed=1)).json()
    _merge(client, alice, "alice/open-merge", source, 0.6, seed=2)
    assert client.delete("/api/adapters/alice/source", headers=alice.headers).status_code == 204
    done = collect_garbage(app.state.session_factory, app.state.storage, grace=timedelta(0), dry_run=False)
    assert done.purged_adapters == 1
    with app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(MergeSource)) == 0
    lineage = client.get("/api/adapters/alice/open-merge").json()["lineage"]
    assert lineage == [{"adapter": None, "revision": None, "version": None, "weight": 0.6}]


def test_a_listed_private_merge_keeps_the_answer_out_of_shared_caches(client, alice):
    source = publish(client, alice, "alice/source", tiny_lora_files(seed=1)).json()
    assert client.get("/api/adapters/alice/source", headers=alice.headers).headers["Cache-Control"] == "no-cache"
    _merge(client, alice, "alice/own-merge", source, 0.4, seed=4, private=True)
    owner = client.get("/api/adapters/alice/source", headers=alice.headers)
    assert owner.json()["merges"][0]["adapter"] == "alice/own-merge"
    assert owner.headers["Cache-Control"] == "private, no-cache"
    assert client.get("/api/adapters/alice/source").headers["Cache-Control"] == "no-cache"


@pytest.mark.browser
@sqlite_only
def test_from_a_source_to_its_merge_and_back_in_chromium(chromium, page, live_hub, client, alice, console):
    source = publish(client, alice, "alice/source", tiny_lora_files(seed=1)).json()
    _merge(client, alice, "alice/open-merge", source, 0.6, seed=2)
    _merge(client, alice, "alice/own-merge", source, 0.4, seed=3, private=True)
    page.goto(f"{live_hub}/alice/source")
    merges = page.locator("#merges tbody tr")
    assert merges.count() == 1 and "0.6" in merges.first.inner_text() and "ties" in merges.first.inner_text()
    page.click("#merges a[href='/alice/open-merge']")
    page.wait_for_url(f"{live_hub}/alice/open-merge")
    assert page.inner_text("h1").replace("\n", "") == "alice/open-merge"
    page.click(f"#lineage a[href='/alice/source/tree/{source['revision']}']")
    page.wait_for_url(f"{live_hub}/alice/source/tree/{source['revision']}")
    assert page.locator("#merges a").all_inner_texts() == ["alice/open-merge"]
    sign_in_browser(page, live_hub, alice)
    page.goto(f"{live_hub}/alice/source")
    assert page.locator("#merges a").all_inner_texts() == ["alice/open-merge", "alice/own-merge"]
    phone = chromium.new_context(viewport=MOBILE)
    assert_no_sideways_scroll(phone.new_page(), f"{live_hub}/alice/source")
    phone.close()
    assert console.errors == []
