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
      upstream/                       UPSTREAM_PREFIX: the pass-through cache (hub/upstream), no database rows
        blobs/
          sha256/ab/cd/<64 hex>       an upstream file whose ETag is a sha256 (LFS files)
          git-sha1/ab/cd/<40 hex>     one whose ETag is a git blob id (small regular files); both written
                                      only once the bytes hash to the digest the key names
        repos/<org>/<name>/           the repository id as upstream spells it
          refs/<revision>             text: the commit "main" (a branch, a tag) resolved to, last time asked
          commits/<commit>/           40 hex; what a commit holds never changes, so these never expire
            files/<path>              JSON: {"algo", "digest", "size"}, or {"absent": true} for a 404
            info/<plain|blobs>        JSON: the model info document (?blobs=true or not)
            tree/<flat|recursive>/<path>  JSON: the whole listing of a folder ("%2F" for the root)
      .tmp/                           local backend only: files being written (not a key)

A blob key reveals its digest, so `hub gc` and `hub fsck` can walk `blobs/` without the database.
Whatever is under `uploads/` and older than the session timeout is garbage. `upstream/` is outside
both: deleting it only makes the hub ask its upstream again. Revisions and paths under `upstream/`
are one segment each, percent-encoded down to [A-Za-z0-9_-] (so no dot segment, no "/"), and named
"=<sha256 of the text>" when empty or longer than SEGMENT_MAX.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

from sdk.formats import is_sha256

BLOB_PREFIX = "blobs/"
UPLOAD_PREFIX = "uploads/"
UPSTREAM_PREFIX = "upstream/"
UPSTREAM_DIGESTS = {"sha256": re.compile(r"[0-9a-f]{64}"), "git-sha1": re.compile(r"[0-9a-f]{40}")}
SEGMENT_MAX = 200  # file systems cap a name at 255 bytes
# Hugging Face's repo id rule (huggingface_hub utils/_validators.py), one part: no leading dot, no "..".
_REPO_PART = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,95}")
_COMMIT = re.compile(r"[0-9a-f]{40}")


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


def upstream_blob_key(algo: str, digest: str) -> str:
    """Where an upstream file's verified bytes live: "upstream/blobs/sha256/ab/cd/abcd..."."""
    pattern = UPSTREAM_DIGESTS.get(algo)
    if pattern is None or not pattern.fullmatch(digest):
        raise ValueError(f"invalid upstream digest {algo}:{digest!r}")
    return f"{UPSTREAM_PREFIX}blobs/{algo}/{digest[:2]}/{digest[2:4]}/{digest}"


def upstream_ref_key(repo_id: str, revision: str) -> str:
    """The commit a revision name of an upstream repository resolved to."""
    return f"{_upstream_repo(repo_id)}refs/{_segment(revision)}"


def upstream_file_key(repo_id: str, commit: str, path: str) -> str:
    """What upstream said about one file of a commit (its digest and size, or that it is absent)."""
    return f"{_upstream_commit(repo_id, commit)}files/{_segment(path)}"


def upstream_info_key(repo_id: str, commit: str, *, blobs: bool) -> str:
    return f"{_upstream_commit(repo_id, commit)}info/{'blobs' if blobs else 'plain'}"


def upstream_tree_key(repo_id: str, commit: str, path: str, *, recursive: bool) -> str:
    kind = "recursive" if recursive else "flat"
    return f"{_upstream_commit(repo_id, commit)}tree/{kind}/{_segment('/' + path.strip('/'))}"


def _upstream_repo(repo_id: str) -> str:
    parts = repo_id.split("/")
    if len(parts) != 2 or not all(_REPO_PART.fullmatch(part) and ".." not in part for part in parts):
        raise ValueError(f"invalid upstream repository id {repo_id!r}")
    return f"{UPSTREAM_PREFIX}repos/{parts[0]}/{parts[1]}/"


def _upstream_commit(repo_id: str, commit: str) -> str:
    if not _COMMIT.fullmatch(commit):
        raise ValueError(f"invalid upstream commit {commit!r}: expected 40 lowercase hex digits")
    return f"{_upstream_repo(repo_id)}commits/{commit}/"


def _segment(text: str) -> str:
    # quote() keeps "." and "~"; encoding them too leaves no dot segment and no ".." for check_key to refuse.
    encoded = quote(text, safe="").replace(".", "%2E").replace("~", "%7E")
    if not encoded or len(encoded) > SEGMENT_MAX:
        return "=" + hashlib.sha256(text.encode()).hexdigest()  # "=" is never left unencoded: no collision
    return encoded


def _check_sha256(sha256: str) -> None:
    if not is_sha256(sha256):
        raise ValueError(f"invalid sha256 {sha256!r}: expected 64 lowercase hex digits")
