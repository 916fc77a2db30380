"""The local cache: content-addressed blobs, refs to revisions, and complete snapshots in PEFT layout.

Layout (after huggingface_hub's, one cache for all hubs and adapters), under HUB_CACHE (default
~/.cache/adapter-hub):

    blobs/<sha256>                                           verified bytes, written once, shared by all hubs
    hubs/<hub>/refs/<ns>--<name>/<ref>                       text: the 40-hex revision a tag or version last named
    hubs/<hub>/versions/<ns>--<name>/<revision>.json         the version's JSON (facts for offline checks)
    hubs/<hub>/snapshots/<ns>--<name>/<revision>/<path>      hard links to (or copies of) blobs

<hub> names the hub's URL, e.g. ``hub.example.com-1a2b3c4d5e6f7a8b`` (host, port, then a digest of the normalised
URL): what one hub says an adapter name or revision is never answers for another hub, while a blob, checked
against its sha256 before it is kept, is the same bytes whichever hub listed it.

Correctness never depends on locks: each download goes to a process-unique ``.incomplete`` file, is
verified against its sha256 and only then renamed into place; a snapshot is assembled in a temporary
folder and renamed into place once every file is in it, so a snapshot folder that exists is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import re
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

from filelock import FileLock

from sdk import settings
from sdk.errors import DigestMismatch, InvalidPath, SizeMismatch, name_rule_errors
from sdk.formats import check_file_path, check_revision_name, is_revision_id, is_sha256

HASH_CHUNK = 1 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443}


def default_cache_dir() -> Path:
    return settings.cache_dir()


def offline_from_env() -> bool:
    return settings.offline()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def safe_relative_path(path: str) -> PurePosixPath:
    """A file path from the hub, checked (by the hub's own rule) so that it cannot escape the snapshot folder."""
    with name_rule_errors("The hub listed a file path that is not a safe relative path"):
        return PurePosixPath(check_file_path(path))


def hub_folder(url: str) -> str:
    """The cache folder of one hub: its host and port to read, and a digest of its normalised URL to be unique.

    Normalised as browsers compare origins: scheme and host in lower case, the default port dropped, no user
    info (never written to disk), no trailing slash; the path is kept (two hubs may share a host).
    """
    parts = urlsplit(url.strip())
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port if parts.port not in (None, _DEFAULT_PORTS.get(scheme)) else None
    origin = f"{scheme}://{host}" + (f":{port}" if port else "")
    normalised = origin + parts.path.rstrip("/")
    readable = re.sub(r"[^a-z0-9.-]", "_", host + (f"_{port}" if port else "")) or "hub"
    return f"{readable}-{hashlib.sha256(normalised.encode('utf-8')).hexdigest()[:16]}"


class Cache:
    """One cache folder, as seen by a client of the hub at `hub_url`; safe to use from several processes at once."""

    def __init__(self, root: Path, hub_url: str) -> None:
        self.root = root
        self.hub_root = root / "hubs" / hub_folder(hub_url)

    def blob_path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise InvalidPath(f"{sha256[:80]!r} is not a sha256 digest.")
        return self.root / "blobs" / sha256

    def snapshot_path(self, repo: str, revision: str) -> Path:
        return self.hub_root / "snapshots" / _folder(repo) / _checked_revision(revision)

    def has_snapshot(self, repo: str, revision: str) -> bool:
        return self.snapshot_path(repo, revision).is_dir()

    def read_ref(self, repo: str, ref: str) -> str | None:
        """The revision that `ref` ("main", "v2", "stable") named when last resolved online."""
        try:
            text = self._ref_path(repo, ref).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text if is_revision_id(text) else None

    def write_ref(self, repo: str, ref: str, revision: str) -> None:
        _write_atomic(self._ref_path(repo, ref), _checked_revision(revision).encode("ascii"))

    def read_version(self, repo: str, revision: str) -> dict[str, Any] | None:
        try:
            return json.loads(self._version_path(repo, revision).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def write_version(self, repo: str, version: dict[str, Any]) -> None:
        data = json.dumps(version, ensure_ascii=False, sort_keys=True).encode("utf-8")
        _write_atomic(self._version_path(repo, version["revision"]), data)

    def ensure_blob(self, sha256: str, size: int, fetch: Callable[[IO[bytes]], None], *, what: str) -> Path:
        """The verified blob, downloading it with `fetch(file)` first if the cache lacks it.

        Raises:
            DigestMismatch, SizeMismatch: the fetched bytes are not the ones the hub listed (nothing is kept).
        """
        target = self.blob_path(sha256)
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        # The lock only avoids two processes fetching the same bytes; the rename below is what keeps it safe.
        with FileLock(self._lock_path(sha256)):
            if not target.is_file():
                self._fetch_verified(target, sha256, size, fetch, what)
        return target

    def _fetch_verified(
        self, target: Path, sha256: str, size: int, fetch: Callable[[IO[bytes]], None], what: str
    ) -> None:
        tmp = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.incomplete")
        try:
            with tmp.open("wb") as raw:
                out = HashingWriter(raw)
                try:
                    fetch(out)  # type: ignore[arg-type]  # writes, tell, and seek(0) + truncate() to restart
                finally:
                    actual = out.hexdigest()
            _verify(tmp, sha256, size, what, actual)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)  # a no-op on success; never leave a partial file behind

    def link_snapshot(self, repo: str, revision: str, files: dict[str, str]) -> Path:
        """Assemble snapshots/<repo>/<revision> from verified blobs ({path: sha256}) and publish it atomically."""
        final = self.snapshot_path(repo, revision)
        if final.is_dir():
            return final
        staging = final.with_name(f".{revision}.{uuid.uuid4().hex[:8]}.incomplete")
        try:
            for path, sha256 in files.items():
                _link_or_copy(self.blob_path(sha256), staging / safe_relative_path(path))
            staging.mkdir(parents=True, exist_ok=True)  # a version always has files; this is belt and braces
            with contextlib.suppress(OSError):  # another process published the same snapshot first
                os.replace(staging, final)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return final

    def _ref_path(self, repo: str, ref: str) -> Path:
        with name_rule_errors():
            return self.hub_root / "refs" / _folder(repo) / check_revision_name(ref)

    def _version_path(self, repo: str, revision: str) -> Path:
        return self.hub_root / "versions" / _folder(repo) / f"{_checked_revision(revision)}.json"

    def _lock_path(self, sha256: str) -> Path:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        return locks / f"{sha256}.lock"


def _folder(repo: str) -> str:
    # Names are case-insensitive on the hub; one spelling in the cache keeps one copy.
    return repo.lower().replace("/", "--")


def _checked_revision(revision: str) -> str:
    if not is_revision_id(revision):
        raise InvalidPath(f"{revision[:80]!r} is not a 40-hex revision id.")
    return revision


class HashingWriter:
    """A file being downloaded, hashed on a second thread as it is written.

    hashlib releases the GIL, so the digest is ready with the last byte instead of costing a second pass over the
    file (bench/bench_pull: 256 MB hash ~0.35 s here). Supports what a resuming download does: write, tell, and a
    restart from zero (seek(0) then truncate()) when the server ignored its Range.
    """

    # Handed over by the MiB: one queue hand-off per 64 KiB network read made the two threads fight over the GIL.
    _BATCH_BYTES = 1 << 20
    _QUEUED_BATCHES = 8

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._start()

    def write(self, data: bytes) -> int:
        written = self._stream.write(data)
        self._pending.append(bytes(data))  # bytes(bytes) is the same object: no copy for what httpx yields
        self._pending_bytes += len(data)
        if self._pending_bytes >= self._BATCH_BYTES:
            self._hand_over()
        return written

    def tell(self) -> int:
        return self._stream.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if (offset, whence) != (0, os.SEEK_SET):
            raise ValueError("a download may only restart from the beginning")
        return self._stream.seek(0)

    def truncate(self, size: int | None = None) -> int:
        if size not in (None, 0) or self._stream.tell() != 0:
            raise ValueError("a download may only be truncated to nothing")
        self._pending = []  # bytes of the abandoned attempt: never hashed
        self.hexdigest()  # drain and stop the current thread, then hash the new bytes from scratch
        self._start()
        return self._stream.truncate(0)

    def hexdigest(self) -> str:
        """The digest of everything written since the start; ends the hashing thread."""
        if self._thread.is_alive():
            self._hand_over()
            self._chunks.put(None)
            self._thread.join()
        return self._digest.hexdigest()

    def _hand_over(self) -> None:
        if self._pending:
            self._chunks.put(b"".join(self._pending))
            self._pending, self._pending_bytes = [], 0

    def _start(self) -> None:
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._chunks: queue.Queue[bytes | None] = queue.Queue(self._QUEUED_BATCHES)
        self._thread = threading.Thread(target=self._hash, name="sdk-sha256", daemon=True)
        self._thread.start()

    def _hash(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            self._digest.update(chunk)


def _verify(path: Path, sha256: str, size: int, what: str, actual: str) -> None:
    actual_size = path.stat().st_size
    if actual_size != size:
        raise SizeMismatch(f"{what}: received {actual_size} bytes, the hub listed {size}; nothing was cached.")
    if actual != sha256:
        raise DigestMismatch(f"{what}: the bytes hash to {actual}, the hub listed {sha256}; nothing was cached.")


def _link_or_copy(blob: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(blob, target)
    except OSError:  # another file system, or links not allowed (some network and Windows drives)
        shutil.copyfile(blob, target)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
