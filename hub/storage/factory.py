"""Build the BlobStorage named by a URL (HUB_STORAGE_URL): file:///abs/path, a plain path, s3://bucket/prefix."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from hub.storage.base import BlobStorage
from hub.storage.local import LocalBlobStorage
from hub.storage.s3 import S3BlobStorage


def create_storage(
    url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_public_endpoint_url: str | None = None,
) -> BlobStorage:
    """The storage for url; a relative path is resolved against the current folder. ValueError if unknown."""
    if not url.strip():
        raise ValueError("storage URL is empty")
    if "://" not in url:
        return LocalBlobStorage(Path(url))
    parts = urlsplit(url)
    if parts.query or parts.fragment or parts.username or parts.password:
        # Credentials come from the AWS chain (env, profile, instance role), never from the URL,
        # so a storage URL can be logged.
        raise ValueError(f"storage URL {url!r} must not have credentials, a query or a fragment")
    if parts.scheme == "file":
        return _local_storage(url, parts.netloc, parts.path)
    if parts.scheme == "s3":
        return _s3_storage(url, parts.netloc, parts.path, s3_endpoint_url, s3_region, s3_public_endpoint_url)
    raise ValueError(f"unsupported storage URL {url!r}: expected file:///path, a path or s3://bucket/prefix")


def _local_storage(url: str, host: str, path: str) -> LocalBlobStorage:
    # "file:///srv/blobs" has an empty host; "file://data/blobs" reads as the relative path data/blobs.
    location = unquote(host + path)
    if not location:
        raise ValueError(f"storage URL {url!r} names no folder")
    return LocalBlobStorage(Path(location))


def _s3_storage(
    url: str, bucket: str, path: str, endpoint_url: str | None, region: str | None, public_endpoint_url: str | None
) -> S3BlobStorage:
    if not bucket:
        raise ValueError(f"storage URL {url!r} names no bucket")
    try:
        return S3BlobStorage(
            bucket, unquote(path), endpoint_url=endpoint_url, region=region, public_endpoint_url=public_endpoint_url
        )
    except ValueError as exc:
        raise ValueError(f"invalid storage URL {url!r}: {exc}") from exc
