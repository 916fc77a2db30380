"""Issue 18 (trust, round two), the upload items, on both backends:

- items 1 and 14: the upload URL's namespace and name must be the upload's, and the caller's CURRENT role is
  re-checked at every PUT and at commit (a member removed or downgraded meanwhile is refused);
- item 3: content addressing is not a capability: a blob is reused without upload only when the caller can
  already read a live version holding it, otherwise it is listed as missing and its bytes must be sent;
- item 7: slow uploads hold no database connection and no worker thread while their bodies trickle in, so
  `/healthz` keeps answering under 40 of them; each user has a bounded number of concurrent blob uploads.

Refusals are checked to store nothing: row counts and storage keys (tests.helpers.stored_state) are unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import time
from dataclasses import dataclass
from statistics import median
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fixtures.hub import Account, make_account, make_org
from tests.helpers import assert_error, publish, start_upload, stored_state, tiny_lora_files, upload_missing

BASE = {"base_model": "tiny/llama-test"}
WEIGHTS = "adapter_model.safetensors"
CONFIG_FILE = "/versions/main/files/adapter_config.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _uploaded(client, account: Account, adapter: str, files: dict[str, bytes]) -> dict:
    """An upload whose blobs are all in: only the commit is left."""
    started = start_upload(client, account, adapter, files)
    assert started.status_code == 201, started.text
    upload_missing(client, account, adapter, files, started.json())
    return started.json()


# --- items 1 and 14: the URL names the upload; the role is the current one --------------------------------


@pytest.mark.parametrize("wrong", ["bob/mine", "no-such-ns/mine", "alice/other"])
def test_commit_through_another_adapters_url_is_refused(client, app, alice, bob, wrong):
    assert publish(client, bob, "bob/mine", tiny_lora_files(seed=9)).status_code == 201
    started = _uploaded(client, alice, "alice/mine", tiny_lora_files(seed=1))
    before = stored_state(app)
    url = started["commit_url"].replace("/api/adapters/alice/mine/", f"/api/adapters/{wrong}/")
    body = assert_error(client.post(url, json=BASE, headers=alice.headers), 404, "UploadNotFound")
    assert started["upload_id"] in body["message"]
    assert stored_state(app) == before
    assert client.get("/api/adapters/alice/mine", headers=alice.headers).status_code == 404
    if wrong == "bob/mine":
        assert client.get("/api/adapters/bob/mine").json()["latest_version"] == "v1"
    # the right URL still commits the upload: the refusal left it intact
    assert client.post(started["commit_url"], json=BASE, headers=alice.headers).status_code == 201


@pytest.mark.parametrize("wrong", ["bob/mine", "no-such-ns/mine", "alice/other"])
def test_blob_put_through_another_adapters_url_is_refused(client, app, alice, bob, wrong):
    files = tiny_lora_files(seed=2)
    started = start_upload(client, alice, "alice/mine", files).json()
    before = stored_state(app)
    for blob in started["missing"]:
        url = blob["url"].replace("/api/adapters/alice/mine/", f"/api/adapters/{wrong}/")
        response = client.put(url, content=files[blob["path"]], headers=alice.headers)
        assert_error(response, 404, "UploadNotFound")
    assert stored_state(app) == before


@pytest.fixture
def acme(app, client) -> dict[str, Account]:
    """The organisation acme: an owner and a member with the write role."""
    accounts = {name: make_account(app, name) for name in ("owner", "writer")}
    make_org(app, "acme", "owner", {"writer": "write"})
    return accounts


def _demote(client, acme: dict[str, Account], how: str) -> None:
    """The owner removes the writer from acme, or downgrades her to read."""
    url = "/api/orgs/acme/members/writer"
    owner = acme["owner"].headers
    response = (
        client.delete(url, headers=owner) if how == "removed" else client.put(url, json={"role": "read"}, headers=owner)
    )
    assert response.status_code in (200, 204), response.text


@pytest.mark.parametrize("how", ["removed", "downgraded"])
def test_a_member_demoted_between_start_and_commit_cannot_commit(client, app, acme, how):
    started = _uploaded(client, acme["writer"], "acme/x", tiny_lora_files(seed=3))
    _demote(client, acme, how)
    before = stored_state(app)
    response = client.post(started["commit_url"], json=BASE, headers=acme["writer"].headers)
    body = assert_error(response, 403, "Forbidden")
    assert "writer" in body["message"] and "acme" in body["message"]
    assert stored_state(app) == before
    assert client.get("/api/adapters/acme/x", headers=acme["owner"].headers).status_code == 404


@pytest.mark.parametrize("how", ["removed", "downgraded"])
def test_a_member_demoted_between_start_and_put_cannot_upload(client, app, acme, how):
    files = tiny_lora_files(seed=4)
    started = start_upload(client, acme["writer"], "acme/x", files).json()
    _demote(client, acme, how)
    before = stored_state(app)
    for blob in started["missing"]:
        response = client.put(blob["url"], content=files[blob["path"]], headers=acme["writer"].headers)
        assert_error(response, 403, "Forbidden")
    assert stored_state(app) == before


def test_a_downgraded_member_cannot_make_a_private_adapter_public(client, app, acme):
    owner, writer = acme["owner"], acme["writer"]
    assert publish(client, owner, "acme/secret", tiny_lora_files(seed=5), private=True).status_code == 201
    started = _uploaded(client, writer, "acme/secret", tiny_lora_files(seed=6))
    _demote(client, acme, "downgraded")
    before = stored_state(app)
    response = client.post(started["commit_url"], json={**BASE, "private": False}, headers=writer.headers)
    assert_error(response, 403, "Forbidden")
    assert stored_state(app) == before
    assert client.get("/api/adapters/acme/secret").status_code == 404  # still private to the world
    assert client.get("/api/adapters/acme/secret", headers=owner.headers).json()["latest_version"] == "v1"


def test_a_member_whose_role_stays_commits(client, acme):
    """The re-check refuses only a lost role: a writer who keeps hers publishes as before."""
    started = _uploaded(client, acme["writer"], "acme/x", tiny_lora_files(seed=7))
    response = client.post(started["commit_url"], json=BASE, headers=acme["writer"].headers)
    assert response.status_code == 201, response.text


# --- item 3: a blob's digest is not a capability ---------------------------------------------------------


def test_a_guessed_private_blob_is_listed_as_missing(client, alice, bob):
    secret = tiny_lora_files(seed=11)
    assert publish(client, alice, "alice/secret", secret, private=True).status_code == 201
    started = start_upload(client, bob, "bob/copy", secret).json()
    assert sorted(blob["sha256"] for blob in started["missing"]) == sorted(_sha(data) for data in secret.values())


def test_committing_a_guessed_private_blob_without_its_bytes_is_refused(client, app, alice, bob):
    secret = tiny_lora_files(seed=12)
    assert publish(client, alice, "alice/secret", secret, private=True).status_code == 201
    started = start_upload(client, bob, "bob/copy", secret).json()
    before = stored_state(app)
    body = assert_error(client.post(started["commit_url"], json=BASE, headers=bob.headers), 400, "BlobMissing")
    assert "never uploaded" in body["message"]
    assert stored_state(app) == before
    assert client.get("/api/adapters/bob/copy", headers=bob.headers).status_code == 404


def test_a_put_without_the_bytes_does_not_count_as_received(client, app, alice, bob):
    """The hub once answered 200 to a PUT naming a stored digest without reading the body."""
    secret = tiny_lora_files(seed=13)
    assert publish(client, alice, "alice/secret", secret, private=True).status_code == 201
    started = start_upload(client, bob, "bob/copy", secret)
    before = stored_state(app)
    url = f"{started.json()['commit_url'].removesuffix('/commit')}/blobs/{_sha(secret[WEIGHTS])}"
    assert_error(client.put(url, content=b"", headers=bob.headers), 400, "SizeMismatch")
    assert_error(client.put(url, content=b"x" * len(secret[WEIGHTS]), headers=bob.headers), 400, "DigestMismatch")
    assert_error(client.post(started.json()["commit_url"], json=BASE, headers=bob.headers), 400, "BlobMissing")
    assert stored_state(app) == before


def test_a_guessed_private_blob_publishes_once_its_bytes_are_sent(client, app, alice, bob):
    secret = tiny_lora_files(seed=14)
    assert publish(client, alice, "alice/secret", secret, private=True).status_code == 201
    before = stored_state(app)
    started = start_upload(client, bob, "bob/copy", secret).json()
    assert len(started["missing"]) == len(secret)
    upload_missing(client, bob, "bob/copy", secret, started)
    response = client.post(started["commit_url"], json=BASE, headers=bob.headers)
    assert response.status_code == 201, response.text
    assert client.get("/api/adapters/bob/copy" + CONFIG_FILE).content == secret["adapter_config.json"]
    assert stored_state(app)["blobs"] == before["blobs"]  # the bytes were hashed, the rows reused
    assert stored_state(app)["keys"] == before["keys"]


@pytest.mark.parametrize(
    ("reader", "private", "reused"),
    [
        ("outsider", False, True),  # a public adapter's blobs are anyone's to reuse
        ("outsider", True, False),
        ("member", True, True),  # a read member can download the private version anyway
        ("admin", True, True),
    ],
)
def test_a_blob_is_reused_without_upload_only_by_who_can_read_it(client, app, acme, reader, private, reused):
    owner = acme["owner"]
    files = tiny_lora_files(seed=15)
    assert publish(client, owner, "acme/source", files, private=private).status_code == 201
    caller = _reader(app, client, acme, reader)
    started = start_upload(client, caller, f"{caller.name}/copy", files)
    assert started.status_code == 201, started.text
    assert (started.json()["missing"] == []) is reused
    commit = client.post(started.json()["commit_url"], json=BASE, headers=caller.headers)
    assert commit.status_code == (201 if reused else 400), commit.text


def _reader(app, client, acme: dict[str, Account], kind: str) -> Account:
    if kind == "admin":
        return make_account(app, "root", admin=True)
    account = make_account(app, "carol")
    if kind == "member":
        url = "/api/orgs/acme/members/carol"
        assert client.put(url, json={"role": "read"}, headers=acme["owner"].headers).status_code == 200
    return account


def test_a_blob_of_a_deleted_version_is_not_reusable(client, app, alice, bob):
    """Reuse needs a LIVE version: once its only version is deleted, nobody can read the blob there."""
    files = tiny_lora_files(seed=16)
    assert publish(client, alice, "alice/gone", files).status_code == 201
    assert client.delete("/api/adapters/alice/gone", headers=alice.headers).status_code in (200, 204)
    started = start_upload(client, bob, "bob/copy", files).json()
    assert len(started["missing"]) == len(files)


def test_reading_access_is_rechecked_at_commit(client, app, acme):
    """A blob reusable at start but no longer readable at commit (the member left) must have been sent."""
    files = tiny_lora_files(seed=17)
    assert publish(client, acme["owner"], "acme/source", files, private=True).status_code == 201
    started = start_upload(client, acme["writer"], "writer/copy", files).json()
    assert started["missing"] == []
    _demote(client, acme, "removed")
    before = stored_state(app)
    response = client.post(started["commit_url"], json=BASE, headers=acme["writer"].headers)
    assert_error(response, 400, "BlobMissing")
    assert stored_state(app) == before


# --- item 7: slow uploads freeze nothing -----------------------------------------------------------------


class SlowPut:
    """One blob PUT over a raw HTTP/1.1 connection whose body is sent a few bytes at a time."""

    def __init__(self, hub: str, account: Account, url: str, data: bytes) -> None:
        parts = urlsplit(hub)
        self.account, self.data, self.sent = account, data, 0
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        self.connection.putrequest("PUT", url)
        self.connection.putheader("Authorization", f"Bearer {account.token}")
        self.connection.putheader("Content-Length", str(len(data)))
        self.connection.putheader("Content-Type", "application/octet-stream")
        self.connection.endheaders()

    def trickle(self, count: int) -> None:
        piece = self.data[self.sent : self.sent + count]
        self.connection.send(piece)
        self.sent += len(piece)

    def finish(self) -> http.client.HTTPResponse:
        self.trickle(len(self.data))
        return self.answer()

    def answer(self) -> http.client.HTTPResponse:
        response = self.connection.getresponse()
        response.body = response.read()  # type: ignore[attr-defined]
        self.connection.close()
        return response


@dataclass
class SlowPublish:
    """An upload whose small files are in and whose weights are on their way, slowly."""

    adapter: str
    files: dict[str, bytes]
    started: dict
    put: SlowPut


def _slow_publish(hub: str, account: Account, adapter: str, seed: int) -> SlowPublish:
    files = tiny_lora_files(seed=seed)
    with httpx.Client(base_url=hub) as client:
        started = start_upload(client, account, adapter, files)
        assert started.status_code == 201, started.text
        for blob in started.json()["missing"]:
            if blob["path"] != WEIGHTS:
                assert client.put(blob["url"], content=files[blob["path"]], headers=account.headers).status_code == 200
    url = next(blob["url"] for blob in started.json()["missing"] if blob["path"] == WEIGHTS)
    put = SlowPut(hub, account, url, files[WEIGHTS])
    put.trickle(len(files[WEIGHTS]) // 2)
    return SlowPublish(adapter, files, started.json(), put)


def _complete(hub: str, publishing: SlowPublish) -> None:
    """Send the rest of the weights, commit, and read the weights back."""
    response = publishing.put.finish()
    assert response.status == 200, response.body  # type: ignore[attr-defined]
    headers = publishing.put.account.headers
    commit = httpx.post(hub + publishing.started["commit_url"], json=BASE, headers=headers)
    assert commit.status_code == 201, commit.text
    weights = httpx.get(f"{hub}/api/adapters/{publishing.adapter}/versions/main/files/{WEIGHTS}")
    assert weights.content == publishing.files[WEIGHTS]


def _healthz_seconds(hub: str) -> float:
    began = time.perf_counter()
    with contextlib.suppress(httpx.TimeoutException):  # a timeout counts as the time waited
        assert httpx.get(f"{hub}/healthz", timeout=10).status_code == 200
    return time.perf_counter() - began


def _wait_for_in_flight(app, count: int, timeout: float = 20.0) -> bool:
    """Whether `count` blob PUTs reached their body (each holds an upload slot) within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        slots = getattr(app.state, "upload_slots", None)
        if slots is not None and slots.in_use() == count:
            return True
        time.sleep(0.05)
    return False


def test_healthz_answers_while_40_slow_uploads_trickle_in(app, live_hub, record_property):
    uploaders = [make_account(app, f"uploader{index}") for index in range(10)]
    idle = max(_healthz_seconds(live_hub) for _ in range(5))  # this machine's figure with nothing in flight
    slow = [  # 4 a user: under the per-user limit, so every one of them is streaming
        _slow_publish(live_hub, uploaders[index % 10], f"uploader{index % 10}/slow{index}", seed=100 + index)
        for index in range(40)
    ]
    all_streaming = _wait_for_in_flight(app, 40)
    connections_held = app.state.engine.pool.checkedout()
    latencies = []
    for _ in range(10):  # ten probes while every body is still short of its end
        for publishing in slow:
            publishing.put.trickle(8)
        latencies.append(_healthz_seconds(live_hub))
    record_property("healthz_max_seconds", max(latencies))
    print(
        f"healthz, seconds: idle max {idle:.3f}; under 40 slow uploads max {max(latencies):.3f}, "
        f"median {median(latencies):.3f}"
    )
    assert max(latencies) < 1.0, latencies
    assert all_streaming and connections_held == 0  # the bodies trickle in with no database connection taken
    for publishing in slow:
        _complete(live_hub, publishing)


def test_concurrent_blob_uploads_are_limited_per_user(app, live_hub, settings):
    alice, bob = make_account(app, "alice"), make_account(app, "bob")
    limit = settings.max_concurrent_uploads_per_user
    slow = [_slow_publish(live_hub, alice, f"alice/slow{index}", seed=200 + index) for index in range(limit)]
    assert _wait_for_in_flight(app, limit)
    hub = httpx.Client(base_url=live_hub)
    files = tiny_lora_files(seed=299)
    started = start_upload(hub, alice, "alice/excess", files).json()
    before = stored_state(app)
    for blob in started["missing"]:  # one more, even sent whole at once, is refused before its body is read
        response = hub.put(blob["url"], content=files[blob["path"]], headers=alice.headers)
        body = assert_error(response, 429, "TooManyRequests")
        assert int(response.headers["Retry-After"]) > 0 and str(limit) in body["message"]
    assert stored_state(app) == before
    _complete(live_hub, _slow_publish(live_hub, bob, "bob/meanwhile", seed=298))  # the limit is alice's alone
    for publishing in slow:
        _complete(live_hub, publishing)
    assert _wait_for_in_flight(app, 0)
    upload_missing(hub, alice, "alice/excess", files, started)  # her slots are free again
    assert hub.post(started["commit_url"], json=BASE, headers=alice.headers).status_code == 201
