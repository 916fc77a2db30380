"""The signers a namespace trusts, and its policy: owners add and revoke, anyone who may see the namespace lists.

Public keys and CA certificates are public by nature: clients fetch the list to verify what they pull. A revoked
signer keeps its row, so the versions it signed are not rewritten; they read `trusted: false` from then on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace, User
from hub.accounts.permissions import Caller, Role
from hub.accounts.service import AccountService
from hub.audit import record, subject
from hub.errors import InvalidSignerKey, SignerKeyNotFound
from hub.generation import bump as bump_generation
from hub.signing.models import IDENTITY_MAX, SignerKey, SigningPolicy
from hub.timeutil import utcnow
from sdk.signing.signers import (
    CERTIFICATE,
    KEY,
    Signer,
    certificate_key_id,
    key_id_of_public_pem,
    normalized_ca_pem,
    normalized_public_pem,
)

PEM_MAX = 16_384  # a P-521 key is ~270 bytes of PEM, a CA certificate a few KB


class SigningService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        caller: Caller,
        namespace: str,
        *,
        public_key: str | None = None,
        ca_certificate: str | None = None,
        identity: str | None = None,
        name: str = "",
    ) -> SignerKey:
        """Trust a public key, or a CA for one identity; adding a signer already trusted returns it unchanged."""
        owned, user = self.owned(caller, namespace)
        row = _new_signer(public_key, ca_certificate, identity, name[:64])
        existing = self._find(owned, row.key_id)
        if existing is not None:
            if existing.revoked_at is not None:
                raise InvalidSignerKey(f"The signer {row.key_id[:16]} was revoked in {owned.name!r}; use a new key.")
            return existing
        row.namespace_id, row.created_by_id = owned.id, user.id
        self.session.add(row)
        self.session.flush()
        record(self.session, user, "signer.add", subject(owned.name), key_id=row.key_id, kind=row.kind, name=row.name)
        return row

    def signers(self, namespace: str) -> list[SignerKey]:
        """Every signer the namespace has registered, revoked ones included (so old signatures can be told)."""
        owned = AccountService(self.session).namespace(namespace)
        query = select(SignerKey).where(SignerKey.namespace_id == owned.id).order_by(SignerKey.id)
        return list(self.session.scalars(query))

    def revoke(self, caller: Caller, namespace: str, key_id: str) -> SignerKey:
        owned, user = self.owned(caller, namespace)
        row = self._find(owned, key_id)
        if row is None:
            raise SignerKeyNotFound(f"{owned.name!r} has no signer key {key_id[:64]!r}.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            record(self.session, user, "signer.revoke", subject(owned.name), key_id=row.key_id, name=row.name)
            bump_generation(self.session)  # the versions it signed now read trusted: false
        return row

    def requires_signatures(self, namespace: Namespace) -> bool:
        policy = self.session.get(SigningPolicy, namespace.id)
        return bool(policy and policy.require_signatures)

    def set_policy(self, caller: Caller, namespace: str, *, require_signatures: bool) -> bool:
        owned, user = self.owned(caller, namespace)
        policy = self.session.get(SigningPolicy, owned.id) or SigningPolicy(namespace_id=owned.id)
        policy.require_signatures = require_signatures
        self.session.add(policy)
        record(self.session, user, "signing.policy", subject(owned.name), require_signatures=require_signatures)
        return require_signatures

    def owned(self, caller: Caller, namespace: str) -> tuple[Namespace, User]:
        owned = AccountService(self.session).namespace(namespace)
        return owned, caller.require_role(owned, Role.OWNER, "manage signer keys")

    def _find(self, owned: Namespace, key_id: str) -> SignerKey | None:
        query = select(SignerKey).where(SignerKey.namespace_id == owned.id, SignerKey.key_id == key_id.lower())
        return self.session.scalar(query)


def as_signer(row: SignerKey) -> Signer:
    """The row as sdk/signing sees a signer (the same shape the client builds from the hub's key list)."""
    return Signer(
        key_id=row.key_id,
        name=row.name,
        kind=row.kind,
        public_key=row.public_key,
        ca_certificate=row.ca_certificate,
        identity=row.identity,
        revoked=row.revoked_at is not None,
    )


def _new_signer(public_key: str | None, ca_certificate: str | None, identity: str | None, name: str) -> SignerKey:
    if bool(public_key) == bool(ca_certificate):
        raise InvalidSignerKey("Give either a public key, or a CA certificate with an identity.")
    if any(len(text or "") > PEM_MAX for text in (public_key, ca_certificate)):
        raise InvalidSignerKey(f"A signer's PEM is at most {PEM_MAX} characters.")
    try:
        if public_key:
            pem = normalized_public_pem(public_key)
            return SignerKey(key_id=key_id_of_public_pem(pem), kind=KEY, public_key=pem, name=name)
        return _certificate_signer(ca_certificate or "", (identity or "").strip(), name)
    except (ValueError, TypeError, UnicodeEncodeError) as error:
        raise InvalidSignerKey(f"Not a usable PEM: {error}") from None


def _certificate_signer(ca_pem: str, identity: str, name: str) -> SignerKey:
    if not identity or len(identity) > IDENTITY_MAX:
        raise InvalidSignerKey(f"A CA signer needs the identity (1 to {IDENTITY_MAX} characters) it vouches for.")
    pem = normalized_ca_pem(ca_pem)
    return SignerKey(
        key_id=certificate_key_id(pem, identity), kind=CERTIFICATE, ca_certificate=pem, identity=identity, name=name
    )
