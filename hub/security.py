"""Tokens: generated with `secrets`, stored only as sha256, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_PREFIX = "hub_"  # recognisable in logs and by secret scanners
PREFIX_SHOWN = 8  # characters kept in clear so a person can tell tokens apart


def generate_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    # Tokens carry 256 bits of entropy, so a fast unsalted hash cannot be brute-forced.
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def token_matches(raw: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(raw), stored_hash)


def bearer_token(authorization: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None
