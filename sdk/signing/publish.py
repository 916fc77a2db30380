"""Sign what `Hub.publish` is about to upload: the bundle is made over the digests collect() already computed,
so signing a large adapter costs one signature, not a second read of its files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from sdk.collect import LocalFile
from sdk.signing.bundle import SIGNATURE_NAME, sign_digests


def sign_files(
    files: list[LocalFile],
    key: Path,
    scratch: Path,
    *,
    certificate: Path | None = None,
    chain: Iterable[Path] = (),
    model_name: str = "adapter",
) -> list[LocalFile]:
    """`files` with a fresh model.sig over them (one found in the folder is replaced: it signed other bytes)."""
    unsigned = [local for local in files if local.path != SIGNATURE_NAME]
    digests = {local.path: local.sha256 for local in unsigned}
    bundle = sign_digests(digests, key, certificate=certificate, chain=chain, model_name=model_name)
    path = scratch / SIGNATURE_NAME
    path.write_bytes(bundle)
    signature = LocalFile(SIGNATURE_NAME, path, hashlib.sha256(bundle).hexdigest(), len(bundle))
    return [*unsigned, signature]
