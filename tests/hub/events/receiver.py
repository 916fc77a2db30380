"""A webhook receiver for the tests: a threaded HTTP server on a loopback port that records every request.

Each path answers from its own script (e.g. [500, 500] then 200 for ever), or redirects; the arrival times
(time.monotonic()) let a test measure the delays between attempts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    arrivals: list[Arrival] = field(default_factory=list)
    scripts: dict[str, list[int]] = field(default_factory=dict)  # path -> statuses to answer first, then 200
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location of a 302
    server: ThreadingHTTPServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def url(self, path: str = "/hook") -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def at(self, path: str) -> list[Arrival]:
        with self.lock:
            return [arrival for arrival in self.arrivals if arrival.path == path]

    def wait_for(self, path: str, count: int, timeout: float = 20) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(got := self.at(path)) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"{path} got {len(self.at(path))} deliveries within {timeout} s, expected {count}")

    def answer(self, path: str) -> tuple[int, dict[str, str]]:
        with self.lock:
            if path in self.redirects:
                return 302, {"Location": self.redirects[path]}
            script = self.scripts.get(path, [])
            return (script.pop(0) if script else 200), {}

    def record(self, arrival: Arrival) -> None:
        with self.lock:
            self.arrivals.append(arrival)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}
            receiver.record(Arrival(self.path, headers, body, time.monotonic()))
            status, extra = receiver.answer(self.path)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:  # keep the test output quiet
            pass

    return Handler


def verified(arrival: Arrival, secret: str) -> dict[str, Any]:
    """The body, after checking the signature twice: with the reference library, and by hand from the spec."""
    payload = Webhook(secret).verify(arrival.body, arrival.headers)  # raises WebhookVerificationError
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{arrival.headers['webhook-id']}.{arrival.headers['webhook-timestamp']}.".encode() + arrival.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = dict(part.split(",", 1) for part in arrival.headers["webhook-signature"].split(" "))
    assert hmac.compare_digest(versions["v1"], expected)
    assert abs(int(arrival.headers["webhook-timestamp"]) - time.time()) < 300
    return payload
