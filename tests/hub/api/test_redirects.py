"""HUB_S3_REDIRECT_DOWNLOADS on PostgreSQL + S3 (moto): file GETs answer 302 to a presigned storage URL with the
headers Hugging Face clients read on a redirect, HEAD stays a 200 from the metadata, downloads are still counted;
with the setting off, the same routes stream 200 as before. Following a redirect gives the very same bytes."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import huggingface_hub
import pytest

from hub.config import Settings
from tests.fixtures.hub import Account
from tests.helpers import assert_error, flush_downloads, publish, tiny_lora_files
from tests.hf.conftest import HfClient

REPO = "alice/redirected"
WEIGHTS = "adapter_model.safetensors"
SURFACES = {
    "native": "/api/adapters/alice/redirected/versions/main/files/{path}",
    "hf": "/alice/redirected/resolve/main/{path}",
}


@pytest.fixture
def backend() -> str:
    return "postgres-s3"  # the only backend whose storage presigns; local storage always streams


@pytest.fixture
def redirect() -> bool:
    return True  # tests parametrize it to False for the streamed fallback


@pytest.fixture
def public_endpoint() -> bool:
    return False  # tests parametrize it to True: HUB_S3_PUBLIC_ENDPOINT_URL set, redirects left at their default


@pytest.fixture
def settings(settings: Settings, redirect: bool, public_endpoint: bool, moto_server: str) -> Settings:
    if public_endpoint:  # built anew, so the default of s3_redirect_downloads follows from the endpoint
        defaults = settings.model_dump(exclude={"s3_redirect_downloads", "s3_direct_uploads"})
        return Settings.model_validate({**defaults, "s3_public_endpoint_url": moto_server})
    return settings.model_copy(update={"s3_redirect_downloads": redirect})


@pytest.fixture
def files() -> dict[str, bytes]:
    return tiny_lora_files(seed=7)


@pytest.fixture
def version(client, alice: Account, files: dict[str, bytes]) -> dict[str, Any]:
    response = publish(client, alice, REPO, files)
    assert response.status_code == 201, response.text
    return response.json()


def _follow(location: str, **headers: str) -> httpx.Response:
    # A fresh client with no credentials at all: the presigned URL must be enough on its own.
    return httpx.get(location, headers=headers, timeout=30)


@pytest.mark.parametrize("surface", SURFACES)
def test_get_redirects_to_storage_with_the_headers_hf_clients_need(
    client, moto_server: str, version: dict[str, Any], files: dict[str, bytes], surface: str
) -> None:
    response = client.get(SURFACES[surface].format(path=WEIGHTS), follow_redirects=False)
    assert response.status_code == 302
    data, digest = files[WEIGHTS], hashlib.sha256(files[WEIGHTS]).hexdigest()
    location = response.headers["Location"]
    assert urlsplit(location).netloc == urlsplit(moto_server).netloc  # another origin than the hub's
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=900" in location
    assert response.headers["X-Linked-Size"] == str(len(data))
    assert response.headers["X-Linked-Etag"] == response.headers["ETag"] == f'"{digest}"'
    assert response.headers["X-Repo-Commit"] == version["revision"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.content == b""
    assert _follow(location).content == data


@pytest.mark.parametrize("surface", SURFACES)
def test_a_range_is_checked_by_the_hub_and_served_by_storage(
    client, version: dict[str, Any], files: dict[str, bytes], surface: str
) -> None:
    url, data = SURFACES[surface].format(path=WEIGHTS), files[WEIGHTS]
    response = client.get(url, headers={"Range": "bytes=8-99"}, follow_redirects=False)
    assert response.status_code == 302
    part = _follow(response.headers["Location"], Range="bytes=8-99")
    assert part.status_code == 206 and part.content == data[8:100]
    beyond = client.get(url, headers={"Range": f"bytes={len(data)}-"}, follow_redirects=False)
    assert beyond.status_code == 416  # answered by the hub: no redirect for a range outside the file


@pytest.mark.parametrize("surface", SURFACES)
def test_head_is_answered_by_the_hub(client, version: dict[str, Any], files: dict[str, bytes], surface: str) -> None:
    response = client.head(SURFACES[surface].format(path=WEIGHTS), follow_redirects=False)
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.headers["Content-Length"] == str(len(files[WEIGHTS]))
    assert response.headers["X-Repo-Commit"] == version["revision"]


def test_redirected_downloads_are_counted(client, version: dict[str, Any]) -> None:
    for surface in SURFACES.values():
        assert client.get(surface.format(path="adapter_config.json"), follow_redirects=False).status_code == 302
    client.get(SURFACES["native"].format(path=WEIGHTS), follow_redirects=False)
    flush_downloads(client)
    assert client.get(f"/api/adapters/{REPO}").json()["downloads"] == 2


def test_missing_files_and_private_adapters_are_refused_before_any_redirect(
    client, bob: Account, version: dict[str, Any], alice: Account
) -> None:
    assert_error(client.get(SURFACES["native"].format(path="nope.json"), follow_redirects=False), 404, "FileNotFound")
    private = client.patch(f"/api/adapters/{REPO}", json={"private": True}, headers=alice.headers)
    assert private.status_code == 200, private.text
    hidden = client.get(SURFACES["native"].format(path=WEIGHTS), headers=bob.headers, follow_redirects=False)
    assert_error(hidden, 404, "AdapterNotFound")


@pytest.mark.parametrize("redirect", [False])
@pytest.mark.parametrize("surface", SURFACES)
def test_with_the_setting_off_files_are_streamed(
    client, version: dict[str, Any], files: dict[str, bytes], surface: str
) -> None:
    response = client.get(SURFACES[surface].format(path=WEIGHTS), follow_redirects=False)
    assert response.status_code == 200 and "Location" not in response.headers
    assert response.content == files[WEIGHTS]


class _StatusLog:
    """Pure ASGI middleware noting (method, path, status) of every answer of the live hub."""

    def __init__(self, app: Any, seen: list[tuple[str, str, int]]) -> None:
        self.app, self.seen = app, seen

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def noted(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                self.seen.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, noted if scope["type"] == "http" else send)


@pytest.fixture
def answers(app) -> list[tuple[str, str, int]]:
    seen: list[tuple[str, str, int]] = []
    app.add_middleware(_StatusLog, seen=seen)  # before live_hub starts serving the app
    return seen


def test_hf_hub_download_follows_the_redirect(
    answers: list[tuple[str, str, int]], live_hub: str, version: dict[str, Any], files: dict[str, bytes], tmp_path: Path
) -> None:
    # huggingface_hub 2.x in a fresh process (tests/hf/conftest.py): HEAD from the hub, GET 302, bytes from S3.
    client = HfClient(Path(sys.executable), huggingface_hub.__version__, tmp_path)
    got = client.call(live_hub, "download", repo_id=REPO, filename=WEIGHTS)
    assert (got["sha256"], got["commit"]) == (hashlib.sha256(files[WEIGHTS]).hexdigest(), version["revision"])
    resolves = [(method, status) for method, path, status in answers if path.endswith(f"/resolve/main/{WEIGHTS}")]
    assert resolves == [("HEAD", 200), ("GET", 302)]


@pytest.mark.parametrize("public_endpoint", [True])
def test_hf_snapshot_download_with_a_public_endpoint_reads_every_file_from_storage(
    answers: list[tuple[str, str, int]], live_hub: str, version: dict[str, Any], files: dict[str, bytes], tmp_path: Path
) -> None:
    # Redirects are on by default once clients can reach storage; huggingface_hub 2.x, a fresh process.
    client = HfClient(Path(sys.executable), huggingface_hub.__version__, tmp_path)
    got = client.call(live_hub, "snapshot", repo_id=REPO)
    assert got["folder"] == version["revision"]
    assert got["files"] == {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    gets = sorted(path.rsplit("/", 1)[-1] for method, path, status in answers if "/resolve/" in path and status == 302)
    assert gets == sorted(files)
    assert not [seen for seen in answers if "/resolve/" in seen[1] and seen[2] not in (200, 302)]
