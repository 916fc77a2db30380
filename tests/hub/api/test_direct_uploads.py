"""Uploads straight to S3 (presigned multipart parts) on PostgreSQL + S3 (moto over real HTTP): the hub offers them
for large blobs once HUB_S3_PUBLIC_ENDPOINT_URL is set, binds each part's SHA-256 into its URL, and reads every
byte back before any version may name it. Bytes that do not match the declared sha256 never become a version,
and leave nothing behind: no staged object, no open multipart upload, no Blob row."""

from __future__ import annotations

import base64
import hashlib
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from hub.config import Settings
from hub.storage.s3 import PART_SIZE
from tests.fixtures.hub import Account
from tests.helpers import assert_error, start_upload, stored_state, tiny_lora_files

REPO = "alice/direct"
WEIGHTS = "adapter_model.safetensors"


@pytest.fixture
def backend() -> str:
    return "postgres-s3"


@pytest.fixture
def direct() -> bool:
    return True  # a test parametrizes it to False: HUB_S3_DIRECT_UPLOADS=false beside the public endpoint


@pytest.fixture
def settings(settings: Settings, moto_server: str, direct: bool) -> Settings:
    # The test's moto server is reachable from here, so it is also the endpoint "clients" use. Built anew, so the
    # defaults of direct uploads and redirects follow from the public endpoint as they do in a deployment.
    defaults = settings.model_dump(exclude={"s3_redirect_downloads", "s3_direct_uploads"})
    overrides = {} if direct else {"s3_direct_uploads": False}
    return Settings.model_validate({**defaults, "s3_public_endpoint_url": moto_server, **overrides})


@pytest.fixture
def files() -> dict[str, bytes]:
    files = tiny_lora_files(rank=10_000, seed=3)  # about 18 MB of weights: two full parts and a short one
    assert 2 * PART_SIZE < len(files[WEIGHTS]) < 3 * PART_SIZE
    return files


def _checksums(data: bytes, part_size: int) -> list[str]:
    parts = [data[offset : offset + part_size] for offset in range(0, len(data), part_size)]
    return [base64.b64encode(hashlib.sha256(part).digest()).decode() for part in parts]


def _send_parts(client, alice: Account, blob: dict[str, Any], data: bytes, sent: bytes | None = None) -> str:
    """Ask for the part URLs of `data`, PUT `sent` (default: the same bytes) to storage; returns the complete URL."""
    part_size = blob["direct"]["part_size"]
    plan = client.post(
        blob["direct"]["parts_url"], json={"checksums": _checksums(data, part_size)}, headers=alice.headers
    )
    assert plan.status_code == 201, plan.text
    body = data if sent is None else sent
    with httpx.Client(timeout=60) as storage:  # no credentials at all: the URL is enough
        for part in plan.json()["parts"]:
            offset = (part["number"] - 1) * part_size
            answer = storage.put(part["url"], content=body[offset : offset + part_size], headers=part["headers"])
            assert answer.status_code == 200, answer.text
    return plan.json()["complete_url"]


def _start(client, alice: Account, files: dict[str, bytes]) -> tuple[dict[str, Any], dict[str, Any]]:
    started = start_upload(client, alice, REPO, files)
    assert started.status_code == 201, started.text
    blobs = {blob["path"]: blob for blob in started.json()["missing"]}
    return started.json(), blobs


def _leftovers(s3_client: Any, s3_bucket: str) -> dict[str, list[str]]:
    objects = [item["Key"] for item in s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    pending = [upload["Key"] for upload in s3_client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])]
    return {"staged": [key for key in objects if "/uploads/" in key], "pending": pending}


def test_large_blobs_are_offered_straight_to_storage(client, alice: Account, files: dict[str, bytes]) -> None:
    _, blobs = _start(client, alice, files)
    assert blobs[WEIGHTS]["direct"]["part_size"] == PART_SIZE
    assert blobs[WEIGHTS]["direct"]["parts_url"] == blobs[WEIGHTS]["url"] + "/parts"
    assert "direct" not in blobs["adapter_config.json"]  # small files: one PUT to the hub is cheaper


def test_each_part_url_is_presigned_on_the_public_endpoint_with_its_checksum_signed(
    client, alice: Account, files: dict[str, bytes], moto_server: str
) -> None:
    _, blobs = _start(client, alice, files)
    checksums = _checksums(files[WEIGHTS], PART_SIZE)
    plan = client.post(blobs[WEIGHTS]["direct"]["parts_url"], json={"checksums": checksums}, headers=alice.headers)
    assert plan.status_code == 201, plan.text
    parts = plan.json()["parts"]
    assert [part["number"] for part in parts] == [1, 2, 3]
    for part, checksum in zip(parts, checksums, strict=True):
        url = urlsplit(part["url"])
        assert f"{url.scheme}://{url.netloc}" == moto_server
        query = parse_qs(url.query)
        assert query["partNumber"] == [str(part["number"])]
        assert "x-amz-checksum-sha256" in query["X-Amz-SignedHeaders"][0].split(";")
        assert part["headers"] == {"x-amz-checksum-sha256": checksum}


def test_a_direct_upload_is_verified_then_committed(
    client, alice: Account, files: dict[str, bytes], s3_client, s3_bucket
) -> None:
    started, blobs = _start(client, alice, files)
    complete = _send_parts(client, alice, blobs[WEIGHTS], files[WEIGHTS])
    done = client.post(complete, headers=alice.headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"sha256": blobs[WEIGHTS]["sha256"], "size": len(files[WEIGHTS])}
    for path in ("adapter_config.json", "README.md"):
        assert client.put(blobs[path]["url"], content=files[path], headers=alice.headers).status_code == 200
    version = client.post(started["commit_url"], json={"base_model": "tiny/llama-test"}, headers=alice.headers)
    assert version.status_code == 201, version.text
    download = client.get(f"/api/adapters/{REPO}/versions/main/files/{WEIGHTS}", follow_redirects=False)
    assert download.status_code == 302  # the public endpoint turns redirects on too
    assert httpx.get(download.headers["Location"], timeout=60).content == files[WEIGHTS]
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}


def test_bytes_that_do_not_match_the_declared_sha256_never_become_a_version(
    client, app, alice: Account, files: dict[str, bytes], s3_client, s3_bucket
) -> None:
    started, blobs = _start(client, alice, files)
    before = stored_state(app)
    tampered = bytearray(files[WEIGHTS])
    tampered[PART_SIZE + 100] ^= 0xFF  # one byte of the second part; moto does not check the signed checksum
    complete = _send_parts(client, alice, blobs[WEIGHTS], files[WEIGHTS], bytes(tampered))
    assert_error(client.post(complete, headers=alice.headers), 400, "DigestMismatch")
    for path in ("adapter_config.json", "README.md"):
        client.put(blobs[path]["url"], content=files[path], headers=alice.headers)
    commit = client.post(started["commit_url"], json={"base_model": "tiny/llama-test"}, headers=alice.headers)
    assert_error(commit, 400, "BlobMissing")
    after = stored_state(app)
    assert after["versions"] == before["versions"] == 0
    assert [key for key in after["keys"] if key.startswith("blobs/")] == [
        key for key in before["keys"] if key.startswith("blobs/")
    ] + sorted(
        f"blobs/sha256/{s[:2]}/{s[2:4]}/{s}" for s in (blobs[p]["sha256"] for p in ("README.md", "adapter_config.json"))
    )
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}
    assert client.get(f"/api/adapters/{REPO}").status_code == 404


def test_bytes_that_match_but_are_no_safetensors_file_are_refused_and_leave_nothing(
    client, alice: Account, s3_client, s3_bucket
) -> None:
    files = {**tiny_lora_files(seed=4), WEIGHTS: b"\xff" * (PART_SIZE + 10)}  # the declared digest is right
    _, blobs = _start(client, alice, files)
    complete = _send_parts(client, alice, blobs[WEIGHTS], files[WEIGHTS])
    assert_error(client.post(complete, headers=alice.headers), 400, "InvalidSafetensors")
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}
    assert not [key for key in client.app.state.storage.list("blobs/") if key.endswith(blobs[WEIGHTS]["sha256"])]


def test_a_short_upload_is_a_size_mismatch_and_leaves_nothing(
    client, alice: Account, files: dict[str, bytes], s3_client, s3_bucket
) -> None:
    _, blobs = _start(client, alice, files)
    short = files[WEIGHTS][:-1]
    complete = _send_parts(client, alice, blobs[WEIGHTS], files[WEIGHTS], short)
    assert_error(client.post(complete, headers=alice.headers), 400, "SizeMismatch")
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}


def test_finishing_with_no_part_sent_is_refused_and_leaves_nothing(
    client, alice: Account, files: dict[str, bytes], s3_client, s3_bucket
) -> None:
    _, blobs = _start(client, alice, files)
    checksums = _checksums(files[WEIGHTS], PART_SIZE)
    plan = client.post(blobs[WEIGHTS]["direct"]["parts_url"], json={"checksums": checksums}, headers=alice.headers)
    assert_error(client.post(plan.json()["complete_url"], headers=alice.headers), 400, "BlobMissing")
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}
    again = client.post(plan.json()["complete_url"], headers=alice.headers)
    assert_error(again, 400, "BlobMissing")  # the attempt is over: a second finish finds nothing open


@pytest.mark.parametrize(
    ("checksums", "fragment"),
    [
        (["AAAA"] * 3, "is not a base64 SHA-256"),
        ([base64.b64encode(bytes(32)).decode()] * 2, "3 parts"),
    ],
)
def test_malformed_part_checksums_are_refused(
    client, alice: Account, files: dict[str, bytes], checksums: list[str], fragment: str, s3_client, s3_bucket
) -> None:
    _, blobs = _start(client, alice, files)
    refused = client.post(blobs[WEIGHTS]["direct"]["parts_url"], json={"checksums": checksums}, headers=alice.headers)
    assert fragment in assert_error(refused, 422, "InvalidRequest")["message"]
    assert _leftovers(s3_client, s3_bucket) == {"staged": [], "pending": []}


def test_small_blobs_and_unknown_attempts_are_refused(client, alice: Account, files: dict[str, bytes]) -> None:
    _, blobs = _start(client, alice, files)
    config = blobs["adapter_config.json"]
    small = client.post(
        f"{config['url']}/parts",
        json={"checksums": _checksums(files["adapter_config.json"], PART_SIZE)},
        headers=alice.headers,
    )
    assert_error(small, 422, "InvalidRequest")
    unknown = client.post(f"{blobs[WEIGHTS]['url']}/parts/0123456789abcdef/complete", headers=alice.headers)
    assert_error(unknown, 400, "BlobMissing")
    malformed = client.post(f"{blobs[WEIGHTS]['url']}/parts/..%2F..%2Fblobs/complete", headers=alice.headers)
    assert malformed.status_code in (400, 404)


def test_another_user_cannot_start_or_finish_a_direct_upload(
    client, alice: Account, bob: Account, files: dict[str, bytes]
) -> None:
    _, blobs = _start(client, alice, files)
    checksums = _checksums(files[WEIGHTS], PART_SIZE)
    refused = client.post(blobs[WEIGHTS]["direct"]["parts_url"], json={"checksums": checksums}, headers=bob.headers)
    assert_error(refused, 404, "UploadNotFound")


@pytest.mark.parametrize("direct", [False])
def test_with_direct_uploads_off_blobs_go_through_the_hub(client, alice: Account, files: dict[str, bytes]) -> None:
    _, blobs = _start(client, alice, files)
    assert "direct" not in blobs[WEIGHTS]
    checksums = _checksums(files[WEIGHTS], PART_SIZE)
    refused = client.post(f"{blobs[WEIGHTS]['url']}/parts", json={"checksums": checksums}, headers=alice.headers)
    assert "through itself" in assert_error(refused, 422, "InvalidRequest")["message"]
    assert client.put(blobs[WEIGHTS]["url"], content=files[WEIGHTS], headers=alice.headers).status_code == 200
