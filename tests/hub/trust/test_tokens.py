"""Tokens: stored hashed, scoped, expiring, revocable, last-used tracked; failed sign-ins rate-limited."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.accounts.models import Token
from hub.accounts.service import AccountService
from hub.db import unit_of_work
from hub.security import hash_token
from hub.timeutil import utcnow
from tests.helpers import assert_error


def _token(app, user: str, **kwargs) -> str:
    with unit_of_work(app.state.session_factory) as session:
        accounts = AccountService(session)
        return accounts.create_token(accounts.ensure_user(user), **kwargs)


def test_tokens_are_stored_only_as_hashes(app, alice):
    with app.state.session_factory() as session:
        stored = session.scalars(select(Token)).all()
    assert stored and all(alice.token not in (t.token_hash, t.name) for t in stored)
    assert any(t.token_hash == hash_token(alice.token) and alice.token.startswith(t.prefix) for t in stored)


def test_expired_and_revoked_tokens_are_refused(app, client):
    expired = _token(app, "carol", expires_at=utcnow() - timedelta(seconds=1))
    body = assert_error(client.get("/api/whoami", headers={"Authorization": f"Bearer {expired}"}), 401, "InvalidToken")
    assert "expired" in body["message"]
    live = _token(app, "carol")
    headers = {"Authorization": f"Bearer {live}"}
    tokens = client.get("/api/tokens", headers=headers).json()
    mine = next(t for t in tokens if live.startswith(t["prefix"]) and t["revoked_at"] is None)
    assert mine["last_used_at"] is not None and "token" not in mine
    assert client.delete(f"/api/tokens/{mine['id']}", headers=headers).status_code == 204
    assert_error(client.get("/api/whoami", headers=headers), 401, "InvalidToken")


def test_created_tokens_carry_scopes_and_expiry(client, alice):
    made = client.post(
        "/api/tokens", json={"name": "ci", "scopes": ["read"], "expires_in_days": 7}, headers=alice.headers
    ).json()
    assert made["scopes"] == ["read"] and made["expires_at"]
    headers = {"Authorization": f"Bearer {made['token']}"}
    assert client.get("/api/whoami", headers=headers).json()["name"] == "alice"
    refused = client.post("/api/tokens", json={"scopes": ["write"]}, headers=headers)
    assert_error(refused, 403, "InsufficientScope")


def test_failed_authentication_is_rate_limited_per_address(client, alice):
    wrong = {"Authorization": "Bearer hub_wrong"}
    codes = [client.get("/api/whoami", headers=wrong).status_code for _ in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    limited = client.get("/api/whoami", headers=wrong)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/whoami", headers=alice.headers).status_code == 200  # failures never lock out a valid token
    assert client.get("/api/adapters").status_code == 200  # anonymous reads are not limited
