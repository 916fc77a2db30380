"""Signed adapters with OpenSSF model-signing: one home for what a signature covers, on both sides.

`bundle` signs a version's file digests and checks a `model.sig` bundle cryptographically (model-signing's own
verifiers) and against the files it must cover; `signers` describes the keys and CA identities a namespace trusts;
`pins` keeps them in the client's cache. The hub (verify at commit) and the SDK (sign at publish, verify on pull)
both call `bundle.verify_bundle` and `bundle.check_coverage`, so they refuse the same things with the same words.
model-signing is imported lazily: the client installs without it unless it signs or verifies.
"""

from sdk.signing.bundle import (
    SIGNATURE_NAME,
    SignatureProblem,
    VerifiedBundle,
    check_coverage,
    sign_digests,
    verify_bundle,
)
from sdk.signing.signers import Signer, certificate_identities, key_id_of_public_pem, signer_from_json

__all__ = [
    "SIGNATURE_NAME",
    "SignatureProblem",
    "Signer",
    "VerifiedBundle",
    "certificate_identities",
    "check_coverage",
    "key_id_of_public_pem",
    "sign_digests",
    "signer_from_json",
    "verify_bundle",
]
