"""The signers a namespace trusts: an EC public key, or a CA certificate plus one identity it vouches for.

A key's id is the sha256 of its PEM (SubjectPublicKeyInfo), which is the hint model-signing writes into every
bundle it signs with that key, so a bundle names its key without trying every one. A certificate signer's id is
the sha256 of the CA's PEM and the identity: the same CA may vouch for several trusted identities.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

KEY = "key"
CERTIFICATE = "certificate"


@dataclass(frozen=True)
class Signer:
    key_id: str
    name: str
    kind: str  # KEY or CERTIFICATE
    public_key: str | None = None  # PEM, for KEY
    ca_certificate: str | None = None  # PEM, for CERTIFICATE
    identity: str | None = None  # the e-mail, URI, DNS name or CN a CERTIFICATE signer's leaf must carry
    revoked: bool = False

    @property
    def label(self) -> str:
        return self.identity or self.name or self.key_id[:16]

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "name": self.name,
            "kind": self.kind,
            "public_key": self.public_key,
            "ca_certificate": self.ca_certificate,
            "identity": self.identity,
            "revoked": self.revoked,
        }


def signer_from_json(data: dict[str, Any]) -> Signer:
    return Signer(
        key_id=str(data["key_id"]),
        name=str(data.get("name") or ""),
        kind=str(data["kind"]),
        public_key=data.get("public_key"),
        ca_certificate=data.get("ca_certificate"),
        identity=data.get("identity"),
        revoked=bool(data.get("revoked") or data.get("revoked_at")),
    )


def normalized_public_pem(pem: str) -> str:
    """The PEM as model-signing re-encodes it (so ids match its bundle hints); ValueError when not an EC key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("model-signing signs with elliptic-curve keys (P-256, P-384, P-521) only")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.PEM, spki).decode("ascii")


def key_id_of_public_pem(pem: str) -> str:
    return hashlib.sha256(normalized_public_pem(pem).encode("ascii")).hexdigest()


def normalized_ca_pem(pem: str) -> str:
    """One CA certificate, re-encoded; ValueError when the text is not a PEM certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return x509.load_pem_x509_certificate(pem.encode("ascii")).public_bytes(serialization.Encoding.PEM).decode()


def certificate_key_id(ca_pem: str, identity: str) -> str:
    return hashlib.sha256(f"{normalized_ca_pem(ca_pem)}\n{identity}".encode()).hexdigest()


def certificate_identities(certificate: Any) -> set[str]:
    """Every identity a leaf certificate names: its subject alternative names and its common name."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    found = {str(attr.value) for attr in certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)}
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return found
    for kind in (x509.RFC822Name, x509.UniformResourceIdentifier, x509.DNSName):
        found.update(str(value) for value in names.get_values_for_type(kind))
    return found
