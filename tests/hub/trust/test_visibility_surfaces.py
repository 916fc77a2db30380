"""Every surface agrees with `visible_to` about one private adapter, for every kind of caller (issue 11).

The expectation is the SQL rule itself (hub.accounts.permissions.visible_to, evaluated in the database for
each caller); the answers are what the JSON API, search (results, totals, facets), the base page, the
lineage of a public merge, the Hugging Face routes and the web pages show that caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from hub.accounts.orgs import OrgService
from hub.accounts.permissions import acting_as
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from hub.registry.models import Adapter
from hub.registry.visibility import visible_to
from tests.fixtures.hub import Account, make_account
from tests.helpers import publish, tiny_lora_files
from tests.web.test_pages import sign_in

SECRET = "acme/secret"
ROLES = ["anonymous", "outsider", "reader", "writer", "owner", "admin", "writer-without-read"]


@dataclass
class World:
    accounts: dict[str, Account]
    secret_revision: str


@pytest.fixture
def world(app, client) -> World:
    accounts = {name: make_account(app, name) for name in ("owner", "writer", "reader", "outsider")}
    accounts["admin"] = make_account(app, "root", admin=True)
    with unit_of_work(app.state.session_factory) as session:
        users = AccountService(session)
        owner = acting_as(session, users.user("owner"))
        OrgService(session).create(owner, "acme")
        session.flush()
        OrgService(session).set_member(owner, "acme", users.user("writer"), "write")
        OrgService(session).set_member(owner, "acme", users.user("reader"), "read")
        no_read = users.create_token(users.user("writer"), scopes=["write"])
    accounts["writer-without-read"] = Account("writer", no_read)
    accounts["anonymous"] = Account("anonymous", "")
    secret = publish(client, accounts["owner"], SECRET, tiny_lora_files(seed=7), private=True, tags=["hush"])
    assert secret.status_code == 201, secret.text
    revision = secret.json()["revision"]
    lineage = [{"adapter": SECRET, "revision": revision, "weight": 1.0}]
    merged = publish(client, accounts["owner"], "acme/merged", tiny_lora_files(seed=8), lineage=lineage)
    assert merged.status_code == 201, merged.text
    return World(accounts, revision)


def rule_says(app, account: Account) -> bool:
    """visible_to() for this caller, evaluated by the database."""
    with app.state.session_factory() as session:
        caller = AccountService(session).caller(account.token) if account.token else None
        query = select(Adapter.id).join(Adapter.namespace).where(Adapter.name == "secret", visible_to(caller))
        return session.scalar(query) is not None


def api_answers(client, headers: dict[str, str], revision: str) -> dict[str, bool]:
    search = client.get("/api/adapters", params={"tag": "hush"}, headers=headers).json()
    everything = client.get("/api/adapters", headers=headers).json()
    tags = {entry["value"] for entry in everything["facets"]["tag"]}
    lineage = client.get("/api/adapters/acme/merged", headers=headers).json()["lineage"]
    file_url = f"/api/adapters/{SECRET}/versions/main/files/adapter_config.json"
    return {
        "api info": client.get(f"/api/adapters/{SECRET}", headers=headers).status_code == 200,
        "api version": client.get(f"/api/adapters/{SECRET}/versions/v1", headers=headers).status_code == 200,
        "api file": client.head(file_url, headers=headers).status_code == 200,
        "search results": SECRET in [a["id"] for a in search["adapters"]],
        "search total": search["total"] == 1,
        "facets": "hush" in tags,
        "lineage": lineage[0]["revision"] == revision,
        "hf model info": client.get(f"/api/models/{SECRET}", headers=headers).status_code == 200,
        "hf tree": client.get(f"/api/models/{SECRET}/tree/main", headers=headers).status_code == 200,
        "hf resolve": client.head(f"/{SECRET}/resolve/main/adapter_config.json", headers=headers).status_code == 200,
    }


def web_answers(client) -> dict[str, bool]:
    html = {"Accept": "text/html"}
    return {
        "web page": client.get(f"/{SECRET}", headers=html).status_code == 200,
        "web tree": client.get(f"/{SECRET}/tree/v1", headers=html).status_code == 200,
        "web namespace": "/acme/secret" in client.get("/acme", headers=html).text,
        "web search": "/acme/secret" in client.get("/search", params={"tag": "hush"}, headers=html).text,
        "web home": "/acme/secret" in client.get("/", headers=html).text,
        "web base page": "/acme/secret" in client.get("/bases/tiny/llama-test", headers=html).text,
        "web lineage": "acme/secret" in client.get("/acme/merged", headers=html).text,
    }


@pytest.mark.parametrize("role", ROLES)
def test_every_surface_agrees_with_visible_to(app, client, world, role):
    account = world.accounts[role]
    expected = rule_says(app, account)
    assert expected == (role in {"reader", "writer", "owner", "admin"})  # the rule itself, spelled out
    headers = account.headers if account.token else {}
    answers = api_answers(client, headers, world.secret_revision)
    client.cookies.clear()
    if account.token:
        sign_in(client, account)
    answers |= web_answers(client)
    disagree = {surface: seen for surface, seen in answers.items() if seen != expected}
    assert disagree == {}, f"{role}: these surfaces disagree with visible_to ({expected}): {disagree}"
