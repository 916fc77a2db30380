"""Verify a version's model.sig at commit, from the digests the hub computed itself (no blob is read again but
the small signature): signed by a signer the namespace trusts, covering every file and nothing else."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from hub.accounts.models import Namespace
from hub.errors import SignatureInvalid, SignatureRequired, UntrustedSigner
from hub.registry.models import Version
from hub.registry.publish.filetypes import DeclaredFile
from hub.signing.models import SignerKey, VersionSignature
from hub.signing.service import SigningService, as_signer
from hub.storage import BlobStorage, blob_key
from hub.timeutil import isoformat
from sdk.signing.bundle import INVALID, SIGNATURE_NAME, SignatureProblem, check_coverage, verify_bundle


def verify_upload(
    session: Session, storage: BlobStorage, namespace: Namespace, files: list[DeclaredFile]
) -> SignerKey | None:
    """The signer whose bundle covers exactly `files` (their sha256 were computed by the hub on upload), None for
    an unsigned version the namespace allows; SignatureInvalid, UntrustedSigner or SignatureRequired otherwise."""
    service = SigningService(session)
    bundle_file = next((f for f in files if f.path == SIGNATURE_NAME), None)
    if bundle_file is None:
        if service.requires_signatures(namespace):
            raise SignatureRequired(f"{namespace.name!r} accepts signed versions only: add a {SIGNATURE_NAME}.")
        return None
    rows = service.signers(namespace.name)
    bundle = storage.read_range(blob_key(bundle_file.sha256), 0, bundle_file.size)
    try:
        verified = verify_bundle(bundle, [as_signer(row) for row in rows])
        check_coverage(verified.digests, {f.path: f.sha256 for f in files})
    except SignatureProblem as problem:
        refusal = SignatureInvalid if problem.reason == INVALID else UntrustedSigner
        raise refusal(problem.message) from None
    return next(row for row in rows if row.key_id == verified.signer.key_id)


def record_signature(session: Session, version: Version, signer: SignerKey) -> None:
    session.add(VersionSignature(version_id=version.id, signer_id=signer.id))


def signature_view(version: Version) -> dict[str, Any] | None:
    """The version's signature as the API shows it; `trusted` turns false when its signer is revoked later."""
    signature: VersionSignature | None = version.signature  # type: ignore[attr-defined]  # the backref in models.py
    if signature is None:
        return None
    signer = signature.signer
    return {
        "signer": signer.identity or signer.name or signer.key_id[:16],
        "key_id": signer.key_id,
        "kind": signer.kind,
        "verified_at": isoformat(signature.verified_at),
        "trusted": signer.revoked_at is None,
    }
