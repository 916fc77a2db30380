"""Blob storage behind a small protocol: a local folder or an S3 bucket, chosen by URL."""

from hub.storage.base import BlobNotFound, BlobStorage, BlobWriter, DirectUploads, PartsRefused, StorageError
from hub.storage.factory import create_storage
from hub.storage.keys import (
    BLOB_PREFIX,
    UPLOAD_PREFIX,
    blob_key,
    direct_staging_key,
    parse_staging_key,
    sha256_from_blob_key,
    staging_key,
    staging_prefix,
)
from hub.storage.local import LocalBlobStorage
from hub.storage.s3 import S3BlobStorage

__all__ = [
    "BLOB_PREFIX",
    "UPLOAD_PREFIX",
    "BlobNotFound",
    "BlobStorage",
    "BlobWriter",
    "DirectUploads",
    "LocalBlobStorage",
    "PartsRefused",
    "S3BlobStorage",
    "StorageError",
    "blob_key",
    "create_storage",
    "direct_staging_key",
    "parse_staging_key",
    "sha256_from_blob_key",
    "staging_key",
    "staging_prefix",
]
