"""A token never mints more than it holds, on any surface (issue 11, issue 18 items 2, 8, 10, 11).

Table-driven over (admin user or not) x (scopes the calling token holds) x (scopes asked for), on the JSON
API and on the web's tokens page; then expiry, revocation, web sessions and the failed-sign-in limiter.
"""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations

import pytest
from sqlalchemy import select

from hub.accounts.models import Token
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from hub.security import hash_token
from hub.timeutil import as_utc, utcnow
from tests.helpers import assert_error
from tests.web.test_pages import csrf_of, sign_in

SCOPES = ("read", "write", "admin")
HELD = [("read",), ("write",), ("read", "write"), ("read", "write", "admin"), ("write", "admin")]
ASKED = [set(c) for n in (1, 2, 3) for c in combinations(SCOPES, n)]


def _token(app, user: str, scopes: tuple[str, ...], *, admin: bool = False, days: int | None = None) -> str:
    with unit_of_work(app.state.session_factory) as session:
        accounts = AccountService(session)
        expires = utcnow() + timedelta(days=days) if days else None
        return accounts.create_token(accounts.ensure_user(user, is_admin=admin), scopes=scopes, expires_at=expires)


def _row(app, raw: str) -> Token:
    with app.state.session_factory() as session:
        token = session.scalar(select(Token).where(Token.token_hash == hash_token(raw)))
        assert token is not None
        session.expunge(token)
        return token


def expected_grant(admin: bool, held: set[str], asked: set[str]) -> set[str] | None:
    """The rule, stated independently of the code: write is needed to mint; the grant is what is asked AND
    held (admin only for admin users); an empty grant is refused (None)."""
    if "write" not in held:
        return None
    granted = asked & held - (set() if admin else {"admin"})
    return granted or None


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
@pytest.mark.parametrize("held", HELD, ids=lambda held: "+".join(held))
def test_api_minting_never_exceeds_the_calling_token(app, client, admin, held):
    raw = _token(app, "minter", held, admin=admin)
    for asked in ASKED:
        response = client.post(
            "/api/tokens", json={"scopes": sorted(asked)}, headers={"Authorization": f"Bearer {raw}"}
        )
        granted = expected_grant(admin, set(held), asked)
        if granted is None:
            assert_error(response, 403, "InsufficientScope")
            continue
        assert response.status_code == 201, (held, asked, response.text)
        assert set(response.json()["scopes"]) == granted
        assert set(_row(app, response.json()["token"]).scopes.split(",")) == granted  # what is stored, too


@pytest.mark.parametrize("admin", [False, True], ids=["user", "admin"])
@pytest.mark.parametrize("held", HELD, ids=lambda held: "+".join(held))
def test_web_minting_never_exceeds_the_sign_in(app, client, admin, held):
    raw = _token(app, "minter", held, admin=admin)

    class Signed:
        token = raw

    sign_in(client, Signed)
    for asked in ASKED:
        form = {"scopes": sorted(asked), "name": "minted", "csrf": csrf_of(client, "/tokens")}
        response = client.post("/tokens", data=form, headers={"Accept": "text/html"})
        granted = expected_grant(admin, set(held), asked)
        with app.state.session_factory() as session:
            minted = session.scalars(select(Token).where(Token.name == "minted")).all()
            latest = set(minted[-1].scopes.split(",")) if minted else None
            count = len(minted)
        if granted is None:
            assert response.status_code == 403, (held, asked)
            continue
        assert response.status_code == 200, (held, asked, response.text[:300])
        assert latest == granted and count >= 1


def test_a_minted_token_never_outlives_the_token_that_made_it(app, client):
    raw = _token(app, "minter", ("read", "write"), days=1)
    parent_expiry = as_utc(_row(app, raw).expires_at)
    headers = {"Authorization": f"Bearer {raw}"}
    forever = client.post("/api/tokens", json={"scopes": ["read"]}, headers=headers).json()
    longer = client.post("/api/tokens", json={"scopes": ["read"], "expires_in_days": 30}, headers=headers).json()
    shorter = client.post("/api/tokens", json={"scopes": ["read"], "expires_in_days": 1}, headers=headers).json()
    assert as_utc(_row(app, forever["token"]).expires_at) == parent_expiry
    assert as_utc(_row(app, longer["token"]).expires_at) == parent_expiry
    assert as_utc(_row(app, shorter["token"]).expires_at) <= parent_expiry


def test_a_read_only_token_cannot_revoke_tokens(app, client):
    reader = _token(app, "owner", ("read",))
    victim = _token(app, "owner", ("read", "write"))
    victim_id = _row(app, victim).id
    refused = client.delete(f"/api/tokens/{victim_id}", headers={"Authorization": f"Bearer {reader}"})
    assert_error(refused, 403, "InsufficientScope")

    class Signed:
        token = reader

    sign_in(client, Signed)
    form = {"csrf": csrf_of(client, "/tokens")}
    web = client.post(f"/tokens/{victim_id}/revoke", data=form, headers={"Accept": "text/html"}, follow_redirects=False)
    assert web.status_code == 403
    assert _row(app, victim).revoked_at is None
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {victim}"}).status_code == 200


def test_a_web_session_ends_with_its_token(app, client):
    raw = _token(app, "owner", ("read", "write"), days=1)

    class Signed:
        token = raw

    response = client.post("/login", data={"token": raw, "csrf": csrf_of(client)}, follow_redirects=False)
    cookie = response.headers["set-cookie"].lower()
    max_age = int(cookie.split("max-age=")[1].split(";")[0])
    assert 0 < max_age <= 86400  # not the 14 days of a session from a token without expiry
    session_raw = client.cookies["hub_session"]
    assert as_utc(_row(app, session_raw).expires_at) <= as_utc(_row(app, raw).expires_at)
    assert client.get("/tokens", follow_redirects=False).status_code == 200
    parent_id = _row(app, raw).id
    assert client.delete(f"/api/tokens/{parent_id}", headers={"Authorization": f"Bearer {raw}"}).status_code == 204
    assert client.get("/tokens", follow_redirects=False).status_code == 303  # signed out: the session is revoked
    assert _row(app, session_raw).revoked_at is not None
    del Signed


def test_failures_never_lock_out_a_valid_token(app, client):
    valid = _token(app, "alice", ("read", "write"))
    for attempt in range(25):
        response = client.get("/api/whoami", headers={"Authorization": f"Bearer hub_wrong{attempt}"})
        assert response.status_code in (401, 429)
    assert_error(client.get("/api/whoami", headers={"Authorization": "Bearer hub_wrong"}), 429, "TooManyRequests")
    assert client.get("/api/whoami", headers={"Authorization": f"Bearer {valid}"}).status_code == 200
    login = client.post("/login", data={"token": valid, "csrf": csrf_of(client)}, follow_redirects=False)
    assert login.status_code == 303  # the web sign-in is not locked out either


def test_behind_a_trusted_proxy_each_client_is_limited_apart(app, client):
    app.state.settings.trusted_proxies = ["testclient"]  # TestClient's peer address: the proxy here
    for attempt in range(25):
        client.get("/api/whoami", headers={"Authorization": f"Bearer hub_x{attempt}", "X-Forwarded-For": "10.9.9.9"})
    guesser = {"Authorization": "Bearer hub_x", "X-Forwarded-For": "10.9.9.9"}
    assert_error(client.get("/api/whoami", headers=guesser), 429, "TooManyRequests")
    neighbour = {"Authorization": "Bearer hub_y", "X-Forwarded-For": "10.1.1.1"}
    assert_error(client.get("/api/whoami", headers=neighbour), 401, "InvalidToken")
    # A client cannot escape its limit by prepending addresses: the proxy appends the real one last.
    forged = {"Authorization": "Bearer hub_x", "X-Forwarded-For": "10.2.2.2, 10.9.9.9"}
    assert_error(client.get("/api/whoami", headers=forged), 429, "TooManyRequests")


def test_a_bad_token_says_where_to_get_one_on_this_hub(client):
    body = assert_error(client.get("/api/whoami", headers={"Authorization": "Bearer hub_nope"}), 401, "InvalidToken")
    assert "http://testserver/tokens" in body["message"]
