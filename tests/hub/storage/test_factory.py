from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hub.storage import LocalBlobStorage, S3BlobStorage, create_storage


def test_file_url_with_absolute_path(tmp_path: Path) -> None:
    storage = create_storage((tmp_path / "blobs").as_uri())
    assert isinstance(storage, LocalBlobStorage)
    assert storage.root == tmp_path / "blobs"
    assert storage.describe() == (tmp_path / "blobs").as_uri()


@pytest.mark.parametrize("url", ["file://data/blobs", "data/blobs", "./data/blobs"])
def test_relative_locations_resolve_against_the_current_folder(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = create_storage(url)
    assert isinstance(storage, LocalBlobStorage)
    assert storage.root == tmp_path / "data" / "blobs"


def test_plain_absolute_path(tmp_path: Path) -> None:
    storage = create_storage(str(tmp_path))
    assert isinstance(storage, LocalBlobStorage)
    assert storage.root == tmp_path


@pytest.mark.parametrize(
    ("url", "described"),
    [
        ("s3://bucket/some/prefix", "s3://bucket/some/prefix"),
        ("s3://bucket", "s3://bucket/"),
        ("s3://b/p/", "s3://b/p"),
    ],
)
def test_s3_urls(url: str, described: str) -> None:
    storage = create_storage(url, s3_endpoint_url="http://127.0.0.1:9", s3_region="eu-west-1")
    assert isinstance(storage, S3BlobStorage)
    assert storage.describe() == described
    assert storage.client.meta.region_name == "eu-west-1"
    assert storage.client.meta.endpoint_url == "http://127.0.0.1:9"


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/blobs",
        "gs://bucket/prefix",
        "s3://",
        "s3:///prefix",
        "s3://key:secret@bucket/prefix",
        "s3://bucket/prefix?region=x",
        "s3://bucket/../prefix",
        "file://",
    ],
)
def test_unsupported_urls_name_themselves(url: str) -> None:
    with pytest.raises(ValueError, match="storage URL") as raised:
        create_storage(url)
    assert url in str(raised.value)


def test_empty_url_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        create_storage(" ")


def test_importing_storage_loads_no_torch() -> None:
    code = "import sys, hub.storage; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
