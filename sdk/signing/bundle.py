"""Sign a version's file digests, and check a `model.sig` bundle: its signature, its signer, what it covers.

The bundle is a Sigstore bundle holding an in-toto statement that lists every file with its sha256, exactly as the
stock `model_signing sign` CLI writes it (same serialization, same ignore paths), so a folder signed here verifies
with `model_signing verify`, and one signed there publishes as it is. The cryptography is model-signing's own
(its key and certificate verifiers); this module only chooses the signer and compares the listed digests with the
digests the caller computed itself (the hub at commit, the client from its cache).

model-signing's public API hashes folders; to sign and verify from digests already computed, this module uses its
signer, verifier, manifest and bundle classes (`model_signing._signing`, `manifest`), pinned at 1.1.1 in
constraints.txt; tests/sdk/test_signing.py checks the result against the stock CLI both ways.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sdk.signing.signers import CERTIFICATE, KEY, Signer, certificate_identities

SIGNATURE_NAME = "model.sig"
# What the stock CLI leaves out of a signature by default: the signature itself and git's files.
IGNORED_PATHS = (SIGNATURE_NAME, ".git", ".gitattributes", ".github", ".gitignore")
INVALID = "invalid"
UNTRUSTED = "untrusted"


class SignatureProblem(ValueError):
    """Why a bundle is refused: `reason` INVALID (bad signature, wrong or missing files) or UNTRUSTED (signer)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VerifiedBundle:
    signer: Signer
    digests: dict[str, str]  # path -> sha256, as the signed statement lists them


def sign_digests(
    digests: Mapping[str, str],
    private_key: Path,
    *,
    certificate: Path | None = None,
    chain: Iterable[Path] = (),
    model_name: str = "adapter",
) -> bytes:
    """The bundle (model.sig's bytes) over {path: sha256}, signed with an EC key (and its certificate, if given)."""
    from model_signing import manifest
    from model_signing._hashing.hashing import Digest
    from model_signing._signing import sign_certificate, sign_ec_key
    from model_signing._signing.signing import Payload

    serialization = manifest._FileSerialization("sha256", False, IGNORED_PATHS)
    items = [
        manifest.FileManifestItem(path=PurePosixPath(path), digest=Digest("sha256", bytes.fromhex(sha)))
        for path, sha in sorted(digests.items())
        if path != SIGNATURE_NAME
    ]
    if certificate is None:
        signer: Any = sign_ec_key.Signer(Path(private_key))
    else:
        signer = sign_certificate.Signer(Path(private_key), Path(certificate), [Path(c) for c in chain])
    signature = signer.sign(Payload(manifest.Manifest(model_name, items, serialization)))
    return signature.bundle.to_json().encode("utf-8")


def verify_bundle(bundle: bytes, signers: Iterable[Signer]) -> VerifiedBundle:
    """The signer (one of `signers`) whose key or CA and identity made this bundle, and the digests it signs.

    Raises SignatureProblem: INVALID when the bundle is malformed or its signature does not check out,
    UNTRUSTED when no signer given made it (or the one that did is revoked).
    """
    with tempfile.TemporaryDirectory(prefix="adapter-hub-sig-") as tmp:
        signature = _read(bundle, Path(tmp))
        material = signature.bundle.verification_material
        if material.x509_certificate_chain and material.x509_certificate_chain.certificates:
            signer, found = _by_certificate(signature, [s for s in signers if s.kind == CERTIFICATE], Path(tmp))
        else:
            hint = material.public_key.hint if material.public_key else None
            signer, found = _by_key(signature, [s for s in signers if s.kind == KEY], hint, Path(tmp))
    if signer.revoked:
        raise SignatureProblem(UNTRUSTED, f"The signer {signer.label!r} (key {signer.key_id[:16]}) was revoked.")
    return VerifiedBundle(signer, _digests(found))


def check_coverage(signed: Mapping[str, str], actual: Mapping[str, str]) -> None:
    """Every file (but the signature) is listed with its sha256, and nothing else is: else INVALID, naming files."""
    files = {path: sha for path, sha in actual.items() if path != SIGNATURE_NAME}
    unsigned = sorted(set(files) - set(signed))
    if unsigned:
        raise SignatureProblem(INVALID, f"The signature does not cover {', '.join(unsigned)} (added after signing?).")
    absent = sorted(set(signed) - set(files))
    if absent:
        raise SignatureProblem(INVALID, f"The signature lists {', '.join(absent)}, which the version does not hold.")
    changed = sorted(path for path, sha in files.items() if signed[path] != sha)
    if changed:
        raise SignatureProblem(INVALID, f"{', '.join(changed)}: the bytes differ from the signed ones.")


def _read(bundle: bytes, tmp: Path) -> Any:
    from model_signing._signing import sign_sigstore_pb

    path = tmp / SIGNATURE_NAME
    path.write_bytes(bundle)
    try:
        return sign_sigstore_pb.Signature.read(path)
    except Exception as error:  # any parse failure of untrusted bytes is the same refusal
        raise SignatureProblem(INVALID, f"{SIGNATURE_NAME} is not a model-signing bundle: {error}") from None


def _by_key(signature: Any, keys: list[Signer], hint: str | None, tmp: Path) -> tuple[Signer, Any]:
    from model_signing._signing import sign_ec_key

    candidates = [key for key in keys if key.key_id == hint] if hint else keys
    if not candidates:
        named = f"key {hint[:16]}" if hint else "a key"
        raise SignatureProblem(UNTRUSTED, f"{SIGNATURE_NAME} is signed by {named}, which is not a trusted signer here.")
    for key in candidates:
        pem = tmp / f"{key.key_id}.pem"
        pem.write_text(key.public_key or "")
        try:
            return key, sign_ec_key.Verifier(pem).verify(signature)
        except Exception:  # InvalidSignature, ValueError: try the next key with no hint
            continue
    raise SignatureProblem(INVALID, f"The signature in {SIGNATURE_NAME} does not match its signed statement.")


def _by_certificate(signature: Any, cas: list[Signer], tmp: Path) -> tuple[Signer, Any]:
    from model_signing._signing import sign_certificate
    from OpenSSL import crypto

    identities = _leaf_identities(signature)
    chained = False
    for ca in cas:
        pem = tmp / f"{ca.key_id}.crt"
        pem.write_text(ca.ca_certificate or "")
        try:
            found = sign_certificate.Verifier([pem]).verify(signature)
        except crypto.X509StoreContextError:
            continue  # not issued under this CA
        except Exception as error:
            raise SignatureProblem(INVALID, f"The signature in {SIGNATURE_NAME} does not check out: {error}") from None
        chained = True
        if ca.identity in identities:
            return ca, found
    named = ", ".join(sorted(identities)) or "no identity"
    where = "a trusted CA, but for an identity not registered" if chained else "no trusted CA"
    raise SignatureProblem(UNTRUSTED, f"{SIGNATURE_NAME} is signed by a certificate for {named}, from {where}.")


def _leaf_identities(signature: Any) -> set[str]:
    from cryptography import x509

    raw = signature.bundle.verification_material.x509_certificate_chain.certificates[0].raw_bytes
    return certificate_identities(x509.load_der_x509_certificate(raw))


def _digests(found: Any) -> dict[str, str]:
    kind = found.serialization_type
    if kind.get("method") != "files" or kind.get("hash_type") != "sha256":
        raise SignatureProblem(INVALID, f"{SIGNATURE_NAME} must list files by sha256 (it uses {kind}).")
    return {item.identifier: item.digest.digest_hex for item in found.resource_descriptors()}
