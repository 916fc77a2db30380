"""What the hub fetched from its upstream, kept in its own storage under `upstream/` (layout: hub/storage/keys.py).

Bytes are stored by the digest they were checked against. Revision names are remembered as the commit they
last resolved to, so that with the upstream unreachable "main" still means what it meant; everything under a
commit (a file's digest and size, its absence, info and tree documents) is immutable, so it is kept as is.
"""

from __future__ import annotations

import json
from typing import Any

from hub.storage import BlobNotFound, BlobStorage
from hub.storage.keys import upstream_blob_key, upstream_file_key, upstream_ref_key
from hub.upstream.digests import RemoteFile


class Absent:
    """A file the upstream said a commit does not have (its 404 is cached like a file: commits never change)."""

    def __init__(self, commit: str, message: str) -> None:
        self.commit, self.message = commit, message


MEMO_ENTRIES = 10_000


class UpstreamCache:
    def __init__(self, storage: BlobStorage) -> None:
        self.storage = storage
        # What this process last wrote or read per key: "main" is re-resolved on every request, and an unchanged
        # answer should cost no storage write (an S3 PUT). Other replicas keep their own; storage stays the truth.
        self._memo: dict[str, bytes] = {}

    def commit_of(self, repo_id: str, revision: str) -> str | None:
        data = self._read(upstream_ref_key(repo_id, revision))
        return data.decode() if data else None

    def remember_commit(self, repo_id: str, revision: str, commit: str) -> None:
        self._write(upstream_ref_key(repo_id, revision), commit.encode())

    def file(self, repo_id: str, commit: str, path: str) -> RemoteFile | Absent | None:
        document = self.document(upstream_file_key(repo_id, commit, path))
        if document is None:
            return None
        if document.get("absent"):
            return Absent(commit, document["message"])
        return RemoteFile(commit=commit, algo=document["algo"], digest=document["digest"], size=document["size"])

    def remember_file(self, repo_id: str, path: str, found: RemoteFile | Absent) -> None:
        if isinstance(found, Absent):
            document: dict[str, Any] = {"absent": True, "message": found.message}
        else:
            document = {"algo": found.algo, "digest": found.digest, "size": found.size}
        self.remember(upstream_file_key(repo_id, found.commit, path), document)

    def blob_key(self, remote: RemoteFile) -> str:
        return upstream_blob_key(remote.algo, remote.digest)

    def document(self, key: str) -> Any | None:
        data = self._read(key)
        return json.loads(data) if data else None

    def remember(self, key: str, document: Any) -> None:
        self._write(key, json.dumps(document, separators=(",", ":")).encode())

    def _write(self, key: str, data: bytes) -> None:
        if self._memo.get(key) != data:
            self.storage.put_bytes(key, data)
            self._note(key, data)

    def _read(self, key: str) -> bytes | None:
        try:
            data = b"".join(self.storage.iter_range(key))
        except BlobNotFound:
            return None
        self._note(key, data)
        return data

    def _note(self, key: str, data: bytes) -> None:
        if len(self._memo) >= MEMO_ENTRIES:
            self._memo.clear()  # a crude bound; a miss costs one storage write, never a wrong answer
        self._memo[key] = data
