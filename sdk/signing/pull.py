"""Verify what a client pulled: verify="auto" (when signed), "require" (signed, trusted, intact) or "off".

The folder's files are hashed again from disk (a byte changed in the cache after download is caught) and must be
exactly what the bundle lists; the bundle must come from a signer the client trusts (sdk/signing/pins.py).
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

from sdk.errors import InvalidRequest, SignatureInvalid, SignatureRequired, UntrustedSigner
from sdk.signing.bundle import INVALID, SIGNATURE_NAME, SignatureProblem, check_coverage, verify_bundle
from sdk.signing.pins import TrustStore
from sdk.signing.signers import Signer

log = logging.getLogger("sdk")
MODES = ("auto", "require", "off")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidRequest(f"verify must be one of {', '.join(MODES)}, not {mode!r}.")
    return mode


def verify_pulled(folder: Path, version: dict[str, Any], mode: str, trust: TrustStore, label: str) -> str | None:
    """The signer's label when verified; None when unsigned and allowed (auto) or not checked (off)."""
    if check_mode(mode) == "off":
        return None
    if not any(entry["path"] == SIGNATURE_NAME for entry in version["files"]):
        if mode == "require":
            raise SignatureRequired(f"{label} is unsigned; verify='require' accepts signed adapters only.")
        log.warning("%s is unsigned: there is no signature to verify.", label)
        return None
    revoked = (version.get("signature") or {}).get("trusted") is False
    if revoked and mode == "require":
        raise UntrustedSigner(f"{label} was signed by a key its namespace has since revoked.")
    signer = _verify(folder, version, trust, label, allow_revoked=revoked)
    if revoked:
        log.warning("%s was signed by %s, a key since revoked; verify='require' refuses it.", label, signer.label)
    return signer.label


def _verify(folder: Path, version: dict[str, Any], trust: TrustStore, label: str, *, allow_revoked: bool) -> Signer:
    from sdk.cache import sha256_file

    namespace = version["adapter"].split("/", 1)[0]
    bundle = (folder / SIGNATURE_NAME).read_bytes()
    actual = {entry["path"]: _digest(folder / entry["path"], sha256_file) for entry in version["files"]}
    try:
        verified = _with_signers(bundle, trust, namespace, allow_revoked)
        check_coverage(verified.digests, actual)
    except SignatureProblem as problem:
        refusal = SignatureInvalid if problem.reason == INVALID else UntrustedSigner
        raise refusal(f"{label}: {problem.message}") from None
    return verified.signer


def _digest(path: Path, sha256_file: Any) -> str:
    try:
        return sha256_file(path)
    except OSError:  # removed from the cache since: reported as a file whose bytes are not the signed ones
        return "missing"


def _with_signers(bundle: bytes, trust: TrustStore, namespace: str, allow_revoked: bool) -> Any:
    def signers(refresh: bool) -> list[Signer]:
        found = trust.signers(namespace, refresh=refresh)
        return [dataclasses.replace(s, revoked=False) for s in found] if allow_revoked else found

    try:
        return verify_bundle(bundle, signers(refresh=False))
    except SignatureProblem as problem:
        if problem.reason == INVALID:
            raise
        return verify_bundle(bundle, signers(refresh=True))  # a key added (or revoked) since the pin: ask again
