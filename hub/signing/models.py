"""Signer keys per namespace, the namespace's signing policy, and the signature each signed version was verified
with. A revoked key keeps its row (`revoked_at`): the versions it signed stay as they are and read `trusted: false`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from hub.db import Base
from hub.registry.models import SHA256_LEN, Version
from hub.timeutil import utcnow

IDENTITY_MAX = 320  # an e-mail address's limit; URIs and DNS names used as identities are shorter in practice


class SignerKey(Base):
    """A signer the namespace trusts: an EC public key (`kind` "key") or a CA plus an identity ("certificate")."""

    __tablename__ = "signer_keys"
    __table_args__ = (UniqueConstraint("namespace_id", "key_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    key_id: Mapped[str] = mapped_column(String(SHA256_LEN))
    name: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(16))
    public_key: Mapped[str | None] = mapped_column(Text)
    ca_certificate: Mapped[str | None] = mapped_column(Text)
    identity: Mapped[str | None] = mapped_column(String(IDENTITY_MAX))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigningPolicy(Base):
    """A namespace's signing rules; no row means the defaults (signatures optional)."""

    __tablename__ = "signing_policies"

    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), primary_key=True)
    require_signatures: Mapped[bool] = mapped_column(Boolean, default=False)


class VersionSignature(Base):
    """Which signer's bundle a version was verified against at commit, and when."""

    __tablename__ = "version_signatures"

    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), primary_key=True)
    signer_id: Mapped[int] = mapped_column(ForeignKey("signer_keys.id", ondelete="RESTRICT"), index=True)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    signer: Mapped[SignerKey] = relationship(lazy="joined")
    # Version.signature, declared from here so the registry's models need not know about signing.
    version: Mapped[Version] = relationship(
        backref=backref("signature", uselist=False, cascade="all, delete-orphan", passive_deletes=True)
    )
