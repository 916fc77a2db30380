"""`hub fsck`: re-hash every stored blob and compare it with what the database says."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work
from hub.registry.models import Blob
from hub.storage import BLOB_PREFIX, BlobNotFound, BlobStorage, blob_key, sha256_from_blob_key


@dataclass
class FsckReport:
    checked: int = 0
    missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # size or content differs from the recorded digest
    orphans: list[str] = field(default_factory=list)  # stored objects no Blob row knows (hub gc removes them)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.corrupt

    def lines(self) -> list[str]:
        out = [f"missing blob {sha}" for sha in self.missing] + [f"corrupt blob {sha}" for sha in self.corrupt]
        out += [f"orphaned object {key} (hub gc removes it)" for key in self.orphans]
        verdict = "ok" if self.ok else f"{len(self.missing)} missing, {len(self.corrupt)} corrupt"
        return [*out, f"fsck: {self.checked} blobs checked: {verdict}"]


def check_storage(factory: sessionmaker[Session], storage: BlobStorage, *, rehash: bool = True) -> FsckReport:
    report = FsckReport()
    with unit_of_work(factory) as session:
        blobs = [(sha, size) for sha, size in session.execute(select(Blob.sha256, Blob.size).order_by(Blob.sha256))]
    for sha256, size in blobs:
        report.checked += 1
        verdict = _check_blob(storage, sha256, size, rehash)
        if verdict == "missing":
            report.missing.append(sha256)
        elif verdict == "corrupt":
            report.corrupt.append(sha256)
    known = {sha for sha, _ in blobs}
    report.orphans = [key for key in storage.list(BLOB_PREFIX) if sha256_from_blob_key(key) not in known]
    return report


def _check_blob(storage: BlobStorage, sha256: str, size: int, rehash: bool) -> str:
    key = blob_key(sha256)
    try:
        if storage.size(key) != size:
            return "corrupt"
        if rehash and _digest(storage, key) != sha256:
            return "corrupt"
    except BlobNotFound:
        return "missing"
    return "ok"


def _digest(storage: BlobStorage, key: str) -> str:
    hasher = hashlib.sha256()
    for chunk in storage.iter_range(key):
        hasher.update(chunk)
    return hasher.hexdigest()
