"""A model's skeleton fetched over the Hugging Face download protocol: its structure without its weights.

`fetch_skeleton` writes `config.json`, `model.safetensors.index.json` (when the checkpoint is sharded) and every
`.safetensors` file cut down to its first 8 bytes (the header's length) and its JSON header: what a reader of
structure (tensor names, dtypes, shapes) opens, and nothing it does not. Two Range requests per weights file
(the length, then exactly the header), so the bytes fetched are a tiny share of the weights: a few KB for a
file of gigabytes. Works against any server speaking the protocol: huggingface.co, a mirror, an Adapter Hub.

Every weights file is then checked against the size the server reports (Content-Range): its header must
account for exactly the bytes after it, so a truncated or foreign header is refused (InvalidSafetensors).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import httpx

from sdk.errors import (
    AdapterNotFound,
    FileNotFound,
    FileTooLarge,
    HubConnectionError,
    HubError,
    InvalidSafetensors,
    RevisionNotFound,
    error_for,
)

CONFIG = "config.json"
SINGLE = "model.safetensors"
INDEX = "model.safetensors.index.json"
MAX_HEADER_BYTES = 100_000_000  # the safetensors library's own cap
MAX_TEXT_BYTES = 16 << 20  # config.json and the index are small; anything larger is not one
_HF_ERRORS: dict[str, type[HubError]] = {
    "RepoNotFound": AdapterNotFound,
    "RevisionNotFound": RevisionNotFound,
    "EntryNotFound": FileNotFound,
}


def fetch_skeleton(endpoint: str, repo_id: str, revision: str, dest: Path, token: str | None = None) -> Path:
    """Write the skeleton of `repo_id` at `revision` under `dest` (created) and return `dest`.

    Args:
        endpoint: the server's base URL (what HF_ENDPOINT would be), e.g. "https://huggingface.co".
        repo_id: "org/name".
        revision: a branch, a tag or a commit; every file is read at the commit it resolves to first.
        dest: the folder to write into.
        token: sent as Bearer to `endpoint` only (httpx drops it on redirects to another origin, such as a CDN).

    Raises:
        AdapterNotFound, RevisionNotFound, FileNotFound: the server has no such repository, revision or file.
        InvalidSafetensors: a weights file's header is not a safetensors header of that file.
        HubConnectionError: the server could not be reached.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(headers=headers, follow_redirects=True, timeout=60) as http:
        remote = _Remote(http, endpoint.rstrip("/"), repo_id)
        config, commit = remote.text(revision, CONFIG)
        dest.mkdir(parents=True, exist_ok=True)
        (dest / CONFIG).write_bytes(config)
        for name, header in _weight_headers(remote, commit, dest):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            (dest / name).write_bytes(header)
    return dest


def _weight_headers(remote: _Remote, commit: str, dest: Path) -> Iterator[tuple[str, bytes]]:
    """transformers' order: one model.safetensors, else the shards its index names."""
    try:
        yield SINGLE, remote.header(commit, SINGLE)
        return
    except FileNotFound:
        pass
    index, _ = remote.text(commit, INDEX)
    (dest / INDEX).write_bytes(index)
    try:
        shards = sorted(set(json.loads(index)["weight_map"].values()))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise InvalidSafetensors(f"{remote.repo_id}: {INDEX} has no weight_map.") from None
    for shard in shards:
        _check_relative(remote.repo_id, shard)
        yield shard, remote.header(commit, shard)


def _check_relative(repo_id: str, name: object) -> None:
    # Shard names come from the server: none may write outside dest.
    path = PurePosixPath(str(name))
    if not isinstance(name, str) or path.is_absolute() or ".." in path.parts or not name.endswith(".safetensors"):
        raise InvalidSafetensors(f"{repo_id}: {INDEX} names an unsafe weights file {str(name)[:200]!r}.")


class _Remote:
    def __init__(self, http: httpx.Client, endpoint: str, repo_id: str) -> None:
        self.http, self.endpoint, self.repo_id = http, endpoint, repo_id

    def url(self, revision: str, path: str) -> str:
        return f"{self.endpoint}/{self.repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"

    def text(self, revision: str, path: str) -> tuple[bytes, str]:
        """A small file's bytes and the commit the revision resolved to."""
        with self._stream(revision, path, None) as response:
            data = _read_prefix(response, MAX_TEXT_BYTES + 1)
            first = response.history[0] if response.history else response  # a CDN would not name the commit
        if len(data) > MAX_TEXT_BYTES:
            raise FileTooLarge(f"{self.repo_id}/{path} is larger than {MAX_TEXT_BYTES} bytes.")
        return data, first.headers.get("x-repo-commit") or revision

    def header(self, commit: str, path: str) -> bytes:
        """The file's first 8 bytes and JSON header, checked to describe exactly the rest of the file."""
        label = f"{self.repo_id}/{path}"
        with self._stream(commit, path, (0, 7)) as response:
            prefix, total = _read_prefix(response, 8), _total(response)
        if len(prefix) < 8:
            raise InvalidSafetensors(f"{label} is shorter than a safetensors header.")
        (length,) = struct.unpack("<Q", prefix)
        if not 2 <= length <= MAX_HEADER_BYTES:
            raise InvalidSafetensors(f"{label}: a header of {length} bytes is no safetensors header.")
        with self._stream(commit, path, (8, 8 + length - 1)) as response:
            ranged = response.status_code == 206
            header = _read_prefix(response, length) if ranged else _read_prefix(response, 8 + length)[8:]
        _check_header(label, header, length, total)
        return prefix + header

    @contextmanager
    def _stream(self, revision: str, path: str, span: tuple[int, int] | None) -> Iterator[httpx.Response]:
        headers = {"Range": f"bytes={span[0]}-{span[1]}", "Accept-Encoding": "identity"} if span else {}
        try:
            with self.http.stream("GET", self.url(revision, path), headers=headers) as response:
                if response.is_error:
                    response.read()
                    raise _error(response, f"{self.repo_id}@{revision}, file {path}")
                yield response
        except httpx.TransportError as error:
            raise HubConnectionError(f"{self.endpoint} could not be reached: {error}") from None


def _error(response: httpx.Response, what: str) -> HubError:
    code = response.headers.get("x-error-code")
    message = f"{what}: " + (response.headers.get("x-error-message") or f"HTTP {response.status_code}")
    cls = _HF_ERRORS.get(code or "")
    return cls(message, status=response.status_code) if cls else error_for(code, message, response.status_code)


def _read_prefix(response: httpx.Response, limit: int) -> bytes:
    # A server that ignores Range answers 200 with the whole file: read only what is needed, then hang up.
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= limit:
            break
    return bytes(data[:limit])


def _total(response: httpx.Response) -> int | None:
    """The file's full size from `Content-Range: bytes a-b/total` (None if the server sent the whole file)."""
    _, _, total = response.headers.get("content-range", "").rpartition("/")
    return int(total) if total.isdigit() else None


def _check_header(label: str, header: bytes, length: int, total: int | None) -> None:
    if len(header) != length:
        raise InvalidSafetensors(f"{label}: the header is cut short ({len(header)} of {length} bytes).")
    try:
        entries = json.loads(header)
        ends = [entry["data_offsets"][1] for key, entry in entries.items() if key != "__metadata__"]
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        raise InvalidSafetensors(f"{label}: the header is not a safetensors JSON header.") from None
    if total is not None and 8 + length + max(ends, default=0) != total:
        raise InvalidSafetensors(f"{label}: the header does not describe the file's {total} bytes.")
