"""A small server speaking the Hugging Face download protocol, standing in for huggingface.co as the hub's
upstream: resolve (HEAD, GET, Range), model info, tree, with Hugging Face's headers (X-Repo-Commit; ETag the git
blob id for regular files; sha256 X-Linked-Etag and X-Linked-Size for LFS files, whose HEAD and GET are 302s to a
"CDN" on another origin, as huggingface.co does). It counts the body bytes it sends, records every request's
headers, can flip a byte of a file (keeping its ETag), and can be stopped.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]

    @staticmethod
    def from_folder(folder: Path, commit: str) -> Repo:
        files = {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
        return Repo(commit, files)


def is_lfs(path: str) -> bool:
    return path.endswith(".safetensors")


@dataclass
class Upstream:
    """What the fixture serves and what it saw."""

    repos: dict[str, Repo]
    url: str = ""
    cdn_url: str = ""  # the same server under another host name: another origin for every HTTP client
    bytes_sent: int = 0
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    corrupt: set[str] = field(default_factory=set)  # "repo/path" whose served bytes get one byte flipped
    foreign_etags: set[str] = field(default_factory=set)  # "repo/path" answered with an ETag that is no digest
    stop: Callable[[], None] = lambda: None  # set by running(): stops serving (connections then refused)

    def authorizations(self) -> set[str | None]:
        return {headers.get("authorization") for _, _, headers in self.seen}

    def served(self, repo_id: str, path: str) -> bytes:
        data = self.repos[repo_id].files[path]
        if f"{repo_id}/{path}" in self.corrupt:
            data = data[:-1] + bytes([data[-1] ^ 1])
        return data


def _error(status: int, code: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": code}, status, headers={"X-Error-Code": code, **(headers or {})})


def _ranged(request: Request, data: bytes, headers: dict[str, str], upstream: Upstream) -> Response:
    start, end, status = 0, len(data), 200
    if spec := request.headers.get("range"):
        first, _, last = spec.removeprefix("bytes=").partition("-")
        start, end, status = int(first), min(int(last) + 1, len(data)) if last else len(data), 206
        headers = headers | {"Content-Range": f"bytes {start}-{end - 1}/{len(data)}"}
    body = b"" if request.method == "HEAD" else data[start:end]
    upstream.bytes_sent += len(body)
    return Response(body, status, headers=headers | {"Content-Length": str(end - start)})


def build_app(upstream: Upstream) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next):
        upstream.seen.append((request.method, request.url.path, dict(request.headers)))
        return await call_next(request)

    @app.api_route("/{ns}/{name}/resolve/{revision}/{path:path}", methods=["GET", "HEAD"])
    def resolve(request: Request, ns: str, name: str, revision: str, path: str) -> Response:
        repo = upstream.repos.get(f"{ns}/{name}")
        if repo is None:
            return _error(404, "RepoNotFound")
        if revision not in ("main", repo.commit):
            return _error(404, "RevisionNotFound")
        if path not in repo.files:
            return _error(404, "EntryNotFound", {"X-Repo-Commit": repo.commit})
        data = repo.files[path]
        headers = {"X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes"}
        if f"{ns}/{name}/{path}" in upstream.foreign_etags:  # as a plain file server would: size and time
            return _ranged(request, data, headers | {"ETag": f'"{len(data):x}-18c2a"'}, upstream)
        if not is_lfs(path):
            etag = {"ETag": f'"{git_blob_id(data)}"'}
            return _ranged(request, upstream.served(f"{ns}/{name}", path), headers | etag, upstream)
        sha = hashlib.sha256(data).hexdigest()
        linked = {"X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data)), "ETag": f'"{git_blob_id(data)}"'}
        location = f"{upstream.cdn_url}/cdn/{ns}/{name}/{path}"
        return Response(status_code=302, headers=headers | linked | {"Location": location, "Content-Length": "0"})

    @app.api_route("/cdn/{ns}/{name}/{path:path}", methods=["GET", "HEAD"])
    def cdn(request: Request, ns: str, name: str, path: str) -> Response:
        etag = {"ETag": f'"{hashlib.sha256(upstream.repos[f"{ns}/{name}"].files[path]).hexdigest()}"'}
        return _ranged(request, upstream.served(f"{ns}/{name}", path), etag, upstream)

    @app.get("/api/models/{ns}/{name}")
    @app.get("/api/models/{ns}/{name}/revision/{revision}")
    def info(ns: str, name: str, revision: str = "main") -> Response:
        repo = upstream.repos.get(f"{ns}/{name}")
        if repo is None:
            return _error(404, "RepoNotFound")
        siblings = [{"rfilename": path} for path in repo.files]
        return JSONResponse({"id": f"{ns}/{name}", "sha": repo.commit, "siblings": siblings, "private": False})

    @app.get("/api/models/{ns}/{name}/tree/{revision}")
    def tree(ns: str, name: str, revision: str) -> Response:
        repo = upstream.repos[f"{ns}/{name}"]
        return JSONResponse([_entry(path, data) for path, data in repo.files.items()])

    return app


def _entry(path: str, data: bytes) -> dict[str, object]:
    entry: dict[str, object] = {"type": "file", "oid": git_blob_id(data), "size": len(data), "path": path}
    if is_lfs(path):
        entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}
        entry["xetHash"] = "0" * 64  # huggingface.co lists these; the hub must not pass them on
    return entry


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(upstream: Upstream) -> Iterator[Upstream]:
    """Serves `upstream` on a loopback port until the block ends (or `stop` is called through it)."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(build_app(upstream), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    upstream.url, upstream.cdn_url = f"http://127.0.0.1:{port}", f"http://localhost:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not server.started:
        time.sleep(0.05)
    upstream.stop = lambda: _stop(server, thread)
    try:
        yield upstream
    finally:
        _stop(server, thread)


def _stop(server: object, thread: threading.Thread) -> None:
    server.should_exit = True  # type: ignore[attr-defined]
    thread.join(timeout=10)
    assert not thread.is_alive()
