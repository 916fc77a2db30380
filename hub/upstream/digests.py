"""The digests an upstream announces, and the streaming check of its bytes against them.

Hugging Face's ETag is a content hash: the sha256 for LFS files (weights), the git blob id (sha1 of
"blob <size>\\0" + content) for regular files (config.json, README.md). Both are checked the same way, as the
bytes stream through; an ETag that is neither cannot be checked, so such a file is refused, not served.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hub.errors import UpstreamMismatch
from hub.storage.keys import UPSTREAM_DIGESTS


@dataclass(frozen=True)
class RemoteFile:
    """One file of an upstream commit, as upstream described it (HEAD): what its bytes must hash to."""

    commit: str
    algo: str  # "sha256" (LFS) or "git-sha1" (regular file)
    digest: str
    size: int

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'  # the upstream's own ETag, so clients name their cached blob alike


def digest_of_etag(etag: str) -> tuple[str, str]:
    """(algo, digest) of an ETag such as W/"abc..." ; UpstreamMismatch when it names no content hash."""
    value = etag.strip().removeprefix("W/").strip('"').lower()
    for algo, pattern in UPSTREAM_DIGESTS.items():
        if pattern.fullmatch(value):
            return algo, value
    raise UpstreamMismatch(
        f"The upstream's ETag {etag[:80]!r} is no sha256 or git blob id: its bytes cannot be checked."
    )


class Digester:
    """Hashes the bytes of one RemoteFile as they stream; `check` raises unless they are exactly its bytes."""

    def __init__(self, remote: RemoteFile) -> None:
        self.remote, self.count = remote, 0
        if remote.algo == "sha256":
            self.hash = hashlib.sha256()
        else:
            self.hash = hashlib.sha1(b"blob %d\0" % remote.size, usedforsecurity=False)

    def update(self, chunk: bytes) -> None:
        self.count += len(chunk)
        self.hash.update(chunk)

    def check(self, label: str) -> None:
        if self.count != self.remote.size or self.hash.hexdigest() != self.remote.digest:
            raise UpstreamMismatch(
                f"{label}: the upstream sent {self.count} bytes hashing to {self.remote.algo} "
                f"{self.hash.hexdigest()}, not the announced {self.remote.size} bytes of {self.remote.digest}."
            )
