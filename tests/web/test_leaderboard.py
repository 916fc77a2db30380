"""The leaderboard page and the adapter page's evaluations table (TestClient, both engines), and the page in a real
Chromium through its form (ranks, the base's score and deltas, private adapters only for their members, 375 px)."""

from __future__ import annotations

import re

import pytest

from tests.fixtures.hub import make_account
from tests.hub.evaluations.test_api import BASE, TASK, _card, _publish
from tests.web.conftest import sqlite_only
from tests.web.test_layout_browser import MOBILE, assert_no_sideways_scroll
from tests.web.test_manage_browser import sign_in

BOARD = f"/leaderboards?task={TASK}&base_model={BASE}&metric=accuracy"


def _catalogue(client, alice, bob) -> None:
    _publish(client, alice, "alice/low", 1, _card(0.71))
    _publish(client, alice, "alice/high", 2, _card(0.93))
    _publish(client, bob, "bob/secret", 3, _card(0.99))
    assert client.patch("/api/adapters/bob/secret", json={"private": True}, headers=bob.headers).status_code == 200
    _publish(client, alice, "alice/base-scores", 4, _card(0.60, name=BASE))


def _ranked_names(html: str) -> list[str]:
    table = html.split('<table class="leaderboard">', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<td><a href="/[^"]+">([^<]+)</a></td>', table)


def test_adapter_page_shows_its_evaluations_with_a_link_to_the_leaderboard(client, alice):
    _publish(client, alice, "alice/high", 2, _card(0.93))
    html = client.get("/alice/high").text
    section = html.split('<section id="evaluations">', 1)[1].split("</section>", 1)[0]
    assert "text-classification" in section and "glue (sst2, validation)" in section and "0.93" in section
    assert "/leaderboards?task=text-classification&amp;base_model=tiny/llama-test&amp;metric=accuracy" in section
    _publish(client, alice, "alice/plain", 3, "# nothing stated")
    assert 'id="evaluations"' not in client.get("/alice/plain").text


def test_leaderboard_page_ranks_and_hides_private_adapters_from_anonymous_visitors(client, alice, bob):
    _catalogue(client, alice, bob)
    anonymous = client.get(BOARD)
    assert anonymous.status_code == 200
    assert _ranked_names(anonymous.text) == ["alice/high", "alice/low"]
    assert "The base model's own accuracy:" in anonymous.text and "0.6 on glue (sst2, validation)" in anonymous.text
    assert "+0.33" in anonymous.text and "+0.11" in anonymous.text
    assert client.get("/leaderboards").status_code == 200  # the empty form
    bad = client.get("/leaderboards?task=Bad Task&base_model=x&metric=accuracy")
    assert bad.status_code == 400 and "lower-case ids" in bad.text


@pytest.mark.browser
@sqlite_only
def test_leaderboard_in_chromium_through_the_form(chromium, page, live_hub, client, alice, bob, app, console):
    _catalogue(client, alice, bob)
    page.goto(f"{live_hub}/")
    page.click("nav a[href='/leaderboards']")
    page.fill("#lb-task", TASK)
    page.fill("#lb-base", BASE)
    page.fill("#lb-metric", "accuracy")
    page.click("form[action='/leaderboards'] button")
    rows = page.locator("table.leaderboard tbody tr")
    assert rows.count() == 2
    assert [rows.nth(i).locator("td").nth(1).inner_text() for i in range(2)] == ["alice/high", "alice/low"]
    assert rows.nth(0).locator("td").nth(7).inner_text() == "+0.33"
    assert "lora" in rows.nth(0).inner_text().lower() and "%" in rows.nth(0).locator("td").nth(4).inner_text()
    assert "0.6 on glue" in page.inner_text("#baseline")
    sign_in(page, live_hub, bob)
    page.goto(f"{live_hub}{BOARD}")
    assert page.locator("table.leaderboard tbody tr").first.locator("td").nth(1).inner_text() == "bob/secret"
    carol = make_account(app, "carol")
    sign_in(page, live_hub, carol)
    page.goto(f"{live_hub}{BOARD}")
    assert "bob/secret" not in page.inner_text("table.leaderboard")
    phone = chromium.new_context(viewport=MOBILE)
    small = phone.new_page()
    assert_no_sideways_scroll(small, f"{live_hub}{BOARD}")
    phone.close()
    assert console.errors == []


def test_search_page_sorts_by_a_metric_within_a_task(client, alice, bob):
    _catalogue(client, alice, bob)
    html = client.get(f"/search?task={TASK}&sort=metric:accuracy").text
    shown = re.findall(r'class="card-name" href="/([^"]+)"', html)
    assert shown == ["alice/high", "alice/low", "alice/base-scores"]  # the base's own score never ranks
    assert '<option value="metric:accuracy" selected>Best accuracy (highest first)</option>' in html
    # Without a task a metric sort means nothing: the page falls back to the default sort.
    assert 'value="metric:accuracy"' not in client.get("/search?sort=metric:accuracy").text
