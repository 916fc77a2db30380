"""Real keys, a real CA and real model-signing bundles for the signing tests (nothing here is mocked)."""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sdk.signing import SIGNATURE_NAME, sign_digests


@dataclass(frozen=True)
class KeyPair:
    private: Path  # PEM, unencrypted, as `model_signing sign key --private_key` reads it
    public: Path

    @property
    def public_pem(self) -> str:
        return self.public.read_text()


def make_key(folder: Path, name: str = "signer") -> KeyPair:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.pem", folder / f"{name}.pub.pem"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    public.write_bytes(key.public_key().public_bytes(serialization.Encoding.PEM, spki))
    return KeyPair(private, public)


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def signed(files: dict[str, bytes], key: KeyPair, **certificate: object) -> dict[str, bytes]:
    """`files` plus the model.sig model-signing makes over them."""
    return {**files, SIGNATURE_NAME: sign_digests(digests(files), key.private, **certificate)}  # type: ignore[arg-type]


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


@dataclass(frozen=True)
class Ca:
    certificate: Path
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.certificate.read_text()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder: Path, name: str = "Test signing CA") -> Ca:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(name))
        .issuer_name(_name(name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / "ca.crt"
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return Ca(path, key)


def issue(ca: Ca, folder: Path, email: str) -> tuple[KeyPair, Path]:
    """A signing key and its leaf certificate for `email` (subject alternative name), issued by `ca`."""
    pair = make_key(folder, email.split("@")[0])
    public = serialization.load_pem_public_key(pair.public.read_bytes())
    issuer = x509.load_pem_x509_certificate(ca.certificate.read_bytes())
    now = datetime.datetime.now(datetime.UTC)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(email))
        .issuer_name(issuer.subject)
        .public_key(public)  # type: ignore[arg-type]
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]), critical=False)
        .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    path = folder / f"{email.split('@')[0]}.crt"
    path.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    return pair, path
