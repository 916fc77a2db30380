"""HTTP to the upstream: the only code that sends requests there.

Nothing of the caller's request is forwarded: no header (above all no Authorization; the caller's token is
this hub's, or a huggingface.co token meant for somewhere else), only the repository, revision and path.
The one credential sent is HUB_UPSTREAM_TOKEN, and httpx drops it on redirects to another origin (the
CDN huggingface.co sends weights from), as Hugging Face clients do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

from hub.errors import AdapterNotFound, FileNotFound, Forbidden, HubError, RevisionNotFound, UpstreamUnavailable
from hub.upstream.digests import RemoteFile, digest_of_etag

COMMIT_RE = re.compile(r"[0-9a-f]{40}")
MAX_HOPS = 5  # same-origin redirects (a renamed repository) followed before giving up
MAX_TREE_PAGES = 1000
USER_AGENT = "adapter-hub-upstream/1"
# Statuses that mean "the upstream is not answering now": the hub falls back on its cache.
_UNAVAILABLE = frozenset({408, 429, 500, 502, 503, 504})


class EntryAbsent(Exception):
    """The upstream holds the repository but not the file (404 EntryNotFound; `commit` "" if it named none)."""

    def __init__(self, commit: str, message: str) -> None:
        super().__init__(message)
        self.commit, self.message = commit, message


class UpstreamClient:
    def __init__(self, base_url: str, token: str | None, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"User-Agent": USER_AGENT, **({"Authorization": f"Bearer {token}"} if token else {})}
        self.http = httpx.Client(headers=headers, timeout=timeout, follow_redirects=False)

    def resolve_url(self, repo_id: str, revision: str, path: str) -> str:
        # A "." or ".." segment would be resolved away by the URL parser and reach another route of the
        # upstream (with the upstream token): no file of a repository is named so.
        if any(part in ("", ".", "..") for part in path.split("/")) or "\\" in path:
            raise FileNotFound(f"{path[:200]!r} is not a file path.")
        return f"{self.base_url}/{repo_id}/resolve/{quote(revision, safe='')}/{quote(path)}"

    def head_file(self, repo_id: str, revision: str, path: str) -> RemoteFile:
        """The commit, digest and size upstream gives for a file; EntryAbsent or a HubError if it has none."""
        response = self._head(self.resolve_url(repo_id, revision, path))
        if response.status_code >= 400:
            _raise_for(response, repo_id, revision, path)
        commit = _commit(response)
        linked = response.is_redirect  # a redirect to the CDN: its own Content-Length is not the file's
        etag = response.headers.get("x-linked-etag") or response.headers.get("etag") or ""
        size = response.headers.get("x-linked-size") or ("" if linked else response.headers.get("content-length"))
        if not size or not size.isdigit():
            raise UpstreamUnavailable(f"The upstream gave no size for {repo_id}/{path}.")
        algo, digest = digest_of_etag(etag)
        return RemoteFile(commit=commit, algo=algo, digest=digest, size=int(size))

    @contextmanager
    def stream_file(self, repo_id: str, remote: RemoteFile, path: str) -> Iterator[httpx.Response]:
        """The whole file of that commit, open for streaming (redirects followed, the token not sent on)."""
        url = self.resolve_url(repo_id, remote.commit, path)
        request = self.http.build_request("GET", url, headers={"Accept-Encoding": "identity"})
        try:
            response = self.http.send(request, stream=True, follow_redirects=True)
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"The upstream did not answer for {repo_id}/{path}: {error}.") from None
        try:
            if response.status_code != 200:
                _raise_for(response, repo_id, remote.commit, path)
            yield response
        finally:
            response.close()

    def get_json(self, path: str, params: dict[str, str], repo_id: str) -> tuple[Any, httpx.Response]:
        response = self._get(f"{self.base_url}{path}", params)
        if response.status_code >= 400:
            _raise_for(response, repo_id, "", "")
        return _json(response), response

    def tree(self, repo_id: str, commit: str, path: str, recursive: bool) -> list[dict[str, Any]]:
        """Every entry of a folder, across the upstream's pages (its Link URLs must stay on its origin)."""
        url = f"{self.base_url}/api/models/{repo_id}/tree/{commit}" + (f"/{quote(path, safe='')}" if path else "")
        params: dict[str, str] | None = {"recursive": "true" if recursive else "false", "expand": "false"}
        entries: list[dict[str, Any]] = []
        for _ in range(MAX_TREE_PAGES):
            response = self._get(url, params)
            if response.status_code >= 400:
                _raise_for(response, repo_id, commit, path)
            entries += _json(response)
            url, params = response.links.get("next", {}).get("url"), None
            if not url:
                return entries
            if not _same_origin(url, self.base_url):
                raise UpstreamUnavailable("The upstream's tree page links to another server.")
        raise UpstreamUnavailable(f"The upstream's tree of {repo_id} has more than {MAX_TREE_PAGES} pages.")

    def _head(self, url: str) -> httpx.Response:
        # Same-origin redirects (a renamed repository) are followed; one to another origin is the CDN, whose
        # 3xx already carries the file's X-Linked-* metadata (hf-protocol: the clients do the same).
        for _ in range(MAX_HOPS):
            response = self._send("HEAD", url, None, {"Accept-Encoding": "identity"})
            target = urljoin(url, response.headers.get("location", ""))
            if not (response.is_redirect and _same_origin(target, url)):
                return response
            url = target
        raise UpstreamUnavailable("The upstream redirected too many times.")

    def _get(self, url: str, params: dict[str, str] | None) -> httpx.Response:
        response = self._send("GET", url, params, {})
        for _ in range(MAX_HOPS):
            target = urljoin(url, response.headers.get("location", ""))
            if not (response.is_redirect and _same_origin(target, url)):
                break
            url = target
            response = self._send("GET", url, None, {})
        return response

    def _send(self, method: str, url: str, params: dict[str, str] | None, headers: dict[str, str]) -> httpx.Response:
        try:
            response = self.http.request(method, url, params=params, headers=headers)
        except httpx.HTTPError as error:
            raise UpstreamUnavailable(f"The upstream did not answer: {type(error).__name__}.") from None
        if response.status_code in _UNAVAILABLE:
            raise UpstreamUnavailable(f"The upstream answered {response.status_code}.")
        return response

    def close(self) -> None:
        self.http.close()


def _same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


def _commit(response: httpx.Response) -> str:
    commit = response.headers.get("x-repo-commit", "").lower()
    if not COMMIT_RE.fullmatch(commit):
        raise UpstreamUnavailable("The upstream's answer has no X-Repo-Commit.")
    return commit


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise UpstreamUnavailable("The upstream's answer is not JSON.") from None


def _raise_for(response: httpx.Response, repo_id: str, revision: str, path: str) -> None:
    """The upstream's refusal as the same error of this hub (the HF routes turn it back into X-Error-Code)."""
    code = response.headers.get("x-error-code", "")
    message = response.headers.get("x-error-message") or f"The upstream answered {response.status_code}."
    commit = response.headers.get("x-repo-commit", "").lower()
    if code == "EntryNotFound":  # without a commit header the absence is answered but not cached
        commit = commit if COMMIT_RE.fullmatch(commit) else ""
        raise EntryAbsent(commit, f"{repo_id} has no file {path[:200]!r} at {revision[:80]!r} (upstream).")
    if code == "RevisionNotFound":
        raise RevisionNotFound(f"{repo_id} has no revision {revision[:80]!r} (upstream).")
    if code == "GatedRepo" or response.status_code == 403:
        raise Forbidden(f"The upstream refused {repo_id}: {message[:300]}")
    if response.status_code in (401, 404):
        raise AdapterNotFound(f"No repository is called {repo_id[:200]}, here or upstream.")
    error: HubError = UpstreamUnavailable(f"The upstream answered {response.status_code} for {repo_id}.")
    raise error
