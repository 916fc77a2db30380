"""The SDK against a hostile hub (issue 18, items 9 and 12): a real HTTP server on loopback, written here.

The hostile server answers the shapes the SDK asks for (a version document with files, sha256 and sizes, then
the files) and misbehaves on purpose: redirects to file://, bodies that never end, answers for an adapter name
that the real hub also has. What it sent and who sent which headers is counted on the server side.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sdk import Hub
from sdk.errors import OfflineError, RedirectRefused, SizeMismatch
from tests.helpers import publish, tiny_lora_files
from tests.sdk.test_support import cache_files

pytest_plugins = ["tests.sdk.test_support"]
pytestmark = pytest.mark.usefixtures("sdk_env")

REVISION = "1" * 40
ENDLESS_CAP = 64 << 20  # an "endless" body ends here, so that a client that never stops still lets the test end
SEND_CHUNK = 64 << 10
Route = Callable[[BaseHTTPRequestHandler], None]


@dataclass
class HostileHub:
    """A threaded http.server whose answers the test sets by path; it records what it was sent and sent back."""

    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)
    endless_bytes_sent: int = 0  # of endless bodies, as far as the kernel accepted them
    url: str = ""

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]

    def serve_version(self, repo: str, files: dict[str, bytes], revision: str = REVISION) -> None:
        """Answer the SDK's version lookup for every ref, listing `files` by their true sha256 and size."""
        listed = [{"path": p, "sha256": hashlib.sha256(d).hexdigest(), "size": len(d)} for p, d in files.items()]
        document = {"revision": revision, "version": "v1", "files": listed, "facts": {}}
        for ref in ("main", revision):
            self.routes[f"/api/adapters/{repo}/versions/{ref}"] = lambda h: send(h, 200, json.dumps(document).encode())
        for path, data in files.items():
            self.routes[f"/api/adapters/{repo}/versions/{revision}/files/{path}"] = lambda h, d=data: send(h, 200, d)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # the name http.server calls
        hostile = self.server.hostile
        hostile.requests.append((self.path, dict(self.headers.items())))
        route = hostile.routes.get(self.path.split("?", 1)[0])
        if route is None:
            send(self, 404, b'{"error": {"code": "NotFound", "message": "no such route here"}}')
            return
        route(self)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    hostile: HostileHub


def send(handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **(headers or {})}.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def redirect(location: str) -> Route:
    return lambda handler: send(handler, 302, b"", {"Location": location})


def endless_zeros(handler: BaseHTTPRequestHandler) -> None:
    """A body with no length that runs until the client hangs up (or ENDLESS_CAP); bytes the kernel took count."""
    # A small send buffer, so that what the kernel accepted is close to what the client was offered.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_CHUNK)
    handler.send_response(200)
    handler.send_header("Connection", "close")  # HTTP/1.0 and no Content-Length: the body ends at close
    handler.end_headers()
    hostile: HostileHub = handler.server.hostile  # type: ignore[attr-defined]
    chunk = bytes(SEND_CHUNK)
    try:
        while hostile.endless_bytes_sent < ENDLESS_CAP:
            handler.wfile.write(chunk)
            hostile.endless_bytes_sent += len(chunk)
    except OSError:  # the client hung up, as it should
        pass


@pytest.fixture
def start_hostile() -> Iterator[Callable[[], HostileHub]]:
    servers: list[_Server] = []

    def start() -> HostileHub:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.hostile = HostileHub(url=f"http://127.0.0.1:{server.server_address[1]}")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.hostile

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hostile(start_hostile: Callable[[], HostileHub]) -> HostileHub:
    return start_hostile()


def _client(url: str, tmp_path: Path, token: str = "hub-token-of-alice", **options: object) -> Hub:
    return Hub(url, token=token, cache_dir=tmp_path / "cache", retries=1, backoff=0.01, **options)  # type: ignore[arg-type]


WEIGHTS_ONLY = {"adapter_model.safetensors": b"weights"}  # one file, listed as 7 bytes
FILES = {"adapter_config.json": b'{"peft_type": "LORA"}', **WEIGHTS_ONLY}
WEIGHTS = f"/api/adapters/alice/basic/versions/{REVISION}/files/adapter_model.safetensors"


def _assert_nothing_cached(tmp_path: Path) -> None:
    """No blob, no snapshot, no partial download."""
    assert cache_files(tmp_path / "cache") == []


# Item 9: only http(s) redirects are followed.


@pytest.mark.parametrize("hops", ["hub to file://", "hub to storage, storage to file://"])
def test_a_redirect_to_a_local_file_is_refused(hostile: HostileHub, tmp_path: Path, hops: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"a local file the hub must never see copied into the cache")
    hostile.serve_version("alice/basic", {"adapter_model.safetensors": secret.read_bytes()})  # the file's digest
    if hops.startswith("hub to storage"):
        hostile.routes[WEIGHTS] = redirect(f"{hostile.url}/storage/blob")
        hostile.routes["/storage/blob"] = redirect(secret.as_uri())
    else:
        hostile.routes[WEIGHTS] = redirect(secret.as_uri())
    with _client(hostile.url, tmp_path) as hub, pytest.raises(RedirectRefused) as caught:
        hub.download("alice/basic")
    message = str(caught.value)
    assert "alice/basic" in message and "'file:" in message and str(secret) in message
    assert "only http:// and https:// redirects are followed" in message
    assert "a local file" not in message
    assert hostile.paths().count(WEIGHTS) == 1  # refused, not retried: retrying cannot make it safe
    _assert_nothing_cached(tmp_path)


def test_a_version_document_redirected_to_file_is_refused(hostile: HostileHub, tmp_path: Path) -> None:
    document = tmp_path / "version.json"
    document.write_text(json.dumps({"revision": REVISION, "version": "v1", "files": [], "facts": {}}))
    hostile.routes["/api/adapters/alice/basic/versions/main"] = redirect(document.as_uri())
    with _client(hostile.url, tmp_path) as hub, pytest.raises(RedirectRefused, match=r"version\.json"):
        hub.version("alice/basic")
    assert hostile.paths() == ["/api/adapters/alice/basic/versions/main"]


def test_the_hub_token_never_goes_to_another_origin(start_hostile: Callable[[], HostileHub], tmp_path: Path) -> None:
    """A guard (true before this change, and kept): redirects elsewhere, for documents or files, carry no token."""
    hub_side, elsewhere = start_hostile(), start_hostile()
    elsewhere.serve_version("alice/basic", FILES)
    hub_side.routes["/api/adapters/alice/basic/versions/main"] = redirect(
        f"{elsewhere.url}/api/adapters/alice/basic/versions/main"
    )
    for path in FILES:
        file_path = f"/api/adapters/alice/basic/versions/{REVISION}/files/{path}"
        hub_side.routes[file_path] = redirect(f"{elsewhere.url}{file_path}")
    with _client(hub_side.url, tmp_path) as hub:
        folder = hub.download("alice/basic")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == FILES
    assert len(elsewhere.requests) == 3 and len(hub_side.requests) == 3
    assert all(headers.get("Authorization") == "Bearer hub-token-of-alice" for _, headers in hub_side.requests)
    assert not [path for path, headers in elsewhere.requests if "Authorization" in headers]


# Item 9: reading stops at the listed size.


@pytest.mark.parametrize("served_by", ["the hub", "storage"])
def test_an_endless_body_is_cut_at_the_listed_size(hostile: HostileHub, tmp_path: Path, served_by: str) -> None:
    hostile.serve_version("alice/basic", WEIGHTS_ONLY)
    if served_by == "storage":
        hostile.routes[WEIGHTS] = redirect(f"{hostile.url}/storage/blob")
        hostile.routes["/storage/blob"] = endless_zeros
    else:
        hostile.routes[WEIGHTS] = endless_zeros
    with _client(hostile.url, tmp_path) as hub, pytest.raises(SizeMismatch) as caught:
        hub.download("alice/basic")
    message = str(caught.value)
    assert "ran past the 7 bytes the hub listed" in message and "adapter_model.safetensors" in message
    assert hostile.paths().count(WEIGHTS) == 1  # not retried
    # Sent by the server before the client hung up: the listed size, one read of the client (64 KiB from httpx,
    # 1 MiB from storage) and what the two kernels' socket buffers held. Before the cap: all of ENDLESS_CAP.
    assert hostile.endless_bytes_sent < 4 << 20, hostile.endless_bytes_sent
    _assert_nothing_cached(tmp_path)


def test_a_compressed_body_is_not_inflated(hostile: HostileHub, tmp_path: Path) -> None:
    """A gzip bomb (a few KiB that inflate to 64 MiB) is stored as sent, so it fails the check without inflating."""
    import gzip

    bomb = gzip.compress(bytes(ENDLESS_CAP), compresslevel=9)
    hostile.serve_version("alice/basic", WEIGHTS_ONLY)
    hostile.routes[WEIGHTS] = lambda h: send(h, 200, bomb, {"Content-Encoding": "gzip"})
    with _client(hostile.url, tmp_path) as hub, pytest.raises(SizeMismatch, match="ran past the 7 bytes"):
        hub.download("alice/basic")
    assert "gzip" not in hostile.requests[-1][1].get("Accept-Encoding", "")  # identity was asked for
    _assert_nothing_cached(tmp_path)


# Item 12: the cache is keyed by hub.


def test_one_hubs_answers_never_stand_in_for_anothers(
    hub_url: str, client, alice, hostile: HostileHub, tmp_path: Path
) -> None:
    real_files = tiny_lora_files(seed=5)
    published = publish(client, alice, "alice/basic", real_files)
    assert published.status_code == 201, published.text
    revision = published.json()["revision"]
    hostile_files = {"adapter_config.json": b'{"hostile": true}', "adapter_model.safetensors": b"hostile weights"}
    hostile.serve_version("alice/basic", hostile_files, revision=revision)  # claims the real revision id
    with _client(hostile.url, tmp_path) as bad:
        poisoned = bad.download("alice/basic")
    assert {p.name: p.read_bytes() for p in poisoned.iterdir()} == hostile_files
    with _client(hub_url, tmp_path, alice.token) as real:
        folder = real.download(f"alice/basic@{revision}")  # pinned, same cache folder
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == real_files
        assert real.download("alice/basic") == folder  # and "main", which writes the real hub's ref
    # Offline, each hub is served what it itself said, and nothing else.
    with _client(hostile.url, tmp_path, offline=True) as bad_offline:
        assert bad_offline.download("alice/basic") == poisoned
        assert {p.name: p.read_bytes() for p in poisoned.iterdir()} == hostile_files
    with _client(hub_url, tmp_path, offline=True) as real_offline:
        assert real_offline.download(f"alice/basic@{revision}") == folder
        assert real_offline.download("alice/basic") == folder  # "main", as the real hub last said it
        with pytest.raises(OfflineError):
            real_offline.download("alice/basic@v9")


def test_the_hub_folder_follows_the_normalised_url(tmp_path: Path) -> None:
    folders = {
        url: _client(url, tmp_path).cache.hub_root
        for url in ("http://Hub.Example:80/", "http://hub.example", "https://hub.example", "http://hub.example/x")
    }
    first, same, other_scheme, other_path = folders.values()
    assert first == same and len({first, other_scheme, other_path}) == 3
    assert first.name.startswith("hub.example-") and first.parent == tmp_path / "cache" / "hubs"
