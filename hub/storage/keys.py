"""Storage keys: the only place they are built. The tree, under a local root or an S3 prefix:

    <root>/
      blobs/                          BLOB_PREFIX: content-addressed, immutable, shared by versions
        sha256/
          ab/                         first two hex digits of the digest
            cd/                       next two: at most 256 entries per folder level, so a local
              abcd...(64 hex)         folder stays fast to list with millions of blobs
      uploads/                        UPLOAD_PREFIX: bytes of open upload sessions, never served
        <upload_id>/                  32 hex digits (uuid4().hex), one folder per session
          <sha256>                    the digest the client announced; moved to blob_key(sha256)
                                      once the bytes hash to it, deleted if the session fails
          <sha256>.<attempt>          the same, written by the client straight to S3 (presigned
                                      parts): one key per attempt (16 hex), so a second attempt
                                      can never change bytes the hub is verifying
      .tmp/                           local backend only: files being written (not a key)

A blob key reveals its digest, so `hub gc` and `hub fsck` can walk `blobs/` without the database.
Whatever is under `uploads/` and older than the session timeout is garbage.
"""

from __future__ import annotations

import re

from sdk.formats import is_sha256

BLOB_PREFIX = "blobs/"
UPLOAD_PREFIX = "uploads/"


_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_BLOB_KEY = re.compile(r"blobs/sha256/([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{64})")
_STAGING_KEY = re.compile(r"uploads/([0-9a-f]{32})/([0-9a-f]{64})(?:\.[0-9a-f]{16})?")
_ATTEMPT = re.compile(r"[0-9a-f]{16}")


def blob_key(sha256: str) -> str:
    """The content key of a blob: "blobs/sha256/ab/cd/abcd..."."""
    _check_sha256(sha256)
    return f"{BLOB_PREFIX}sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sha256_from_blob_key(key: str) -> str | None:
    """The digest a blob key names, or None if key is not a well-formed blob key."""
    match = _BLOB_KEY.fullmatch(key)
    if match is None:
        return None
    first, second, digest = match.groups()
    return digest if digest[:2] == first and digest[2:4] == second else None


def staging_prefix(upload_id: str) -> str:
    """The folder holding an upload session's staged blobs, with its trailing slash."""
    if not _UPLOAD_ID.fullmatch(upload_id):
        raise ValueError(f"invalid upload id {upload_id!r}: expected 32 lowercase hex digits")
    return f"{UPLOAD_PREFIX}{upload_id}/"


def staging_key(upload_id: str, sha256: str) -> str:
    """Where the bytes announced as sha256 are staged during upload session upload_id."""
    _check_sha256(sha256)
    return staging_prefix(upload_id) + sha256


def direct_staging_key(upload_id: str, sha256: str, attempt: str) -> str:
    """Where one attempt at sending sha256 straight to storage puts its bytes (attempt: 16 hex digits)."""
    if not _ATTEMPT.fullmatch(attempt):
        raise ValueError(f"invalid attempt {attempt!r}: expected 16 lowercase hex digits")
    return f"{staging_key(upload_id, sha256)}.{attempt}"


def parse_staging_key(key: str) -> tuple[str, str] | None:
    """(upload_id, sha256) of a staging key, or None; lets `hub gc` group stale uploads by session."""
    match = _STAGING_KEY.fullmatch(key)
    return (match[1], match[2]) if match else None


def _check_sha256(sha256: str) -> None:
    if not is_sha256(sha256):
        raise ValueError(f"invalid sha256 {sha256!r}: expected 64 lowercase hex digits")
