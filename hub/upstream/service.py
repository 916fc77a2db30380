"""Answers for repositories of the upstream: the upstream first, the cache when it cannot answer.

Named revisions ("main", a tag) are asked upstream each time, since they move, and the commit they resolved to
is remembered; a 40-hex commit whose answer is cached is served without asking (it cannot change). When the
upstream is unreachable every answer comes from the cache, so what was fetched once keeps loading.

Bytes not yet cached are streamed from the upstream to the caller and into storage at once, through the
digest check; the last piece is held back until the whole file hashes to the announced digest, so a caller
never receives a complete copy of bytes that fail it (the connection is cut instead) and nothing is cached.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from urllib.parse import quote

import httpx

from hub.config import Settings
from hub.errors import AdapterNotFound, UpstreamMismatch, UpstreamUnavailable
from hub.storage import BlobStorage
from hub.storage.keys import upstream_info_key, upstream_ref_key, upstream_tree_key
from hub.upstream.cache import Absent, UpstreamCache
from hub.upstream.client import COMMIT_RE, EntryAbsent, UpstreamClient
from hub.upstream.digests import Digester, RemoteFile

log = logging.getLogger(__name__)


class BytesRefused(Exception):
    """Raised into the response stream: the caller's connection is cut short of the file's last byte.

    Not a HubError: the answer has started, so no error document can be sent any more.
    """


DEFAULT_REF = "HEAD"  # the default branch, for model info asked without a revision (git forbids a branch "HEAD")

__all__ = ["Absent", "RemoteFile", "Upstream", "upstream_for"]


def upstream_for(settings: Settings, storage: BlobStorage) -> Upstream | None:
    if not settings.upstream_url:
        return None
    client = UpstreamClient(settings.upstream_url, settings.upstream_token, settings.upstream_timeout_seconds)
    return Upstream(client, storage)


def _pinned(revision: str) -> bool:
    return COMMIT_RE.fullmatch(revision) is not None


class Upstream:
    def __init__(self, client: UpstreamClient, storage: BlobStorage) -> None:
        self.client, self.storage, self.cache = client, storage, UpstreamCache(storage)

    def close(self) -> None:
        self.client.close()

    def locate(self, repo_id: str, revision: str, path: str) -> RemoteFile | Absent:
        """A file's commit, digest and size (or its absence) at a revision."""
        _check_repo(repo_id)
        if _pinned(revision) and (known := self.cache.file(repo_id, revision, path)):
            return known
        try:
            found: RemoteFile | Absent = self.client.head_file(repo_id, revision, path)
        except EntryAbsent as absent:
            found = Absent(absent.commit, absent.message)
            if not absent.commit:
                return found
        except UpstreamUnavailable:
            return self._cached_file(repo_id, revision, path)
        if not _pinned(revision):
            self.cache.remember_commit(repo_id, revision, found.commit)
        self.cache.remember_file(repo_id, path, found)
        return found

    def _cached_file(self, repo_id: str, revision: str, path: str) -> RemoteFile | Absent:
        commit = revision if _pinned(revision) else self.cache.commit_of(repo_id, revision)
        cached = self.cache.file(repo_id, commit, path) if commit else None
        if cached is None:
            raise UpstreamUnavailable(f"The upstream is unreachable and {repo_id}/{path[:200]} is not cached.")
        return cached

    def body(self, repo_id: str, path: str, remote: RemoteFile, span: tuple[int, int] | None) -> Iterator[bytes]:
        """Bytes [start, end) of the file: from the cache, else streamed from the upstream into it.

        The upstream request is made here, before the caller's response starts, so a failure is a clean 502.
        """
        key = self.cache.blob_key(remote)
        start, end = span or (0, remote.size)
        if self.storage.exists(key):
            return self.storage.iter_range(key, start, end)
        stack = ExitStack()
        response = stack.enter_context(self.client.stream_file(repo_id, remote, path))
        return self._fill(stack, response, key, remote, (start, end), f"{repo_id}/{path}")

    def _fill(
        self,
        stack: ExitStack,
        response: httpx.Response,
        key: str,
        remote: RemoteFile,
        span: tuple[int, int],
        label: str,
    ) -> Iterator[bytes]:
        start, end = span
        writer, digester = self.storage.writer(key), Digester(remote)
        held, position = b"", 0
        try:
            for chunk in response.iter_bytes():
                digester.update(chunk)
                if digester.count > remote.size:  # an endless answer must not fill the storage
                    digester.check(label)
                writer.write(chunk)
                piece = chunk[max(start - position, 0) : max(end - position, 0)]
                position += len(chunk)
                if piece:
                    if held:
                        yield held
                    held = piece
            digester.check(label)
            writer.commit()
            if held:
                yield held
        except UpstreamMismatch as refused:
            log.warning("upstream bytes refused, nothing cached: %s", refused.message)
            raise BytesRefused(refused.message) from None
        finally:
            writer.abort()
            stack.close()

    def info(self, repo_id: str, revision: str | None, *, blobs: bool) -> dict[str, Any]:
        """The model info document at a revision (None: the default branch)."""
        _check_repo(repo_id)
        name = revision or DEFAULT_REF
        if _pinned(name) and (known := self.cache.document(upstream_info_key(repo_id, name, blobs=blobs))):
            return known
        path = f"/api/models/{repo_id}" + (f"/revision/{quote(revision, safe='')}" if revision else "")
        try:
            document, _ = self.client.get_json(path, {"blobs": "true"} if blobs else {}, repo_id)
        except UpstreamUnavailable:
            return self._cached_info(repo_id, name, blobs)
        commit = str(document.get("sha", "")).lower() if isinstance(document, dict) else ""
        if not COMMIT_RE.fullmatch(commit):
            raise UpstreamUnavailable(f"The upstream's model info of {repo_id} has no commit sha.")
        if not _pinned(name):
            self.cache.remember_commit(repo_id, name, commit)
        self.cache.remember(upstream_info_key(repo_id, commit, blobs=blobs), document)
        return document

    def _cached_info(self, repo_id: str, name: str, blobs: bool) -> dict[str, Any]:
        commit = name if _pinned(name) else self.cache.commit_of(repo_id, name)
        document = self.cache.document(upstream_info_key(repo_id, commit, blobs=blobs)) if commit else None
        if document is None:
            raise UpstreamUnavailable(f"The upstream is unreachable and the model info of {repo_id} is not cached.")
        return document

    def tree(self, repo_id: str, revision: str, path: str, *, recursive: bool) -> list[dict[str, Any]]:
        """Every entry of a folder at a revision, cached per commit."""
        commit = revision if _pinned(revision) else str(self.info(repo_id, revision, blobs=False)["sha"]).lower()
        key = upstream_tree_key(repo_id, commit, path, recursive=recursive)
        if (known := self.cache.document(key)) is not None:
            return known
        try:
            entries = self.client.tree(repo_id, commit, path, recursive)
        except EntryAbsent as absent:
            raise _absent_folder(absent, commit) from None
        # Xet hashes would invite clients to the upstream's Xet storage; this hub serves plain HTTP only.
        entries = [{k: v for k, v in entry.items() if k != "xetHash"} for entry in entries]
        self.cache.remember(key, entries)
        return entries


def _absent_folder(absent: EntryAbsent, commit: str) -> EntryAbsent:
    return EntryAbsent(absent.commit or commit, absent.message)


def _check_repo(repo_id: str) -> None:
    try:
        upstream_ref_key(repo_id, DEFAULT_REF)  # the key rules are the repository id rules
    except ValueError:
        raise AdapterNotFound(f"No repository is called {repo_id[:200]}, here or upstream.") from None
