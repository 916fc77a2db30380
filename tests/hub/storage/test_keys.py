from __future__ import annotations

import hashlib

import pytest

from hub.storage import (
    BLOB_PREFIX,
    UPLOAD_PREFIX,
    blob_key,
    direct_staging_key,
    parse_staging_key,
    sha256_from_blob_key,
    staging_key,
    staging_prefix,
)
from hub.storage.base import check_key

SHA = hashlib.sha256(b"adapter").hexdigest()
UPLOAD_ID = "0123456789abcdef" * 2
BAD_SHAS = ["", SHA[:-1], SHA + "0", SHA.upper(), "g" * 64, SHA[:-1] + "\n", f"../{SHA[3:]}"]


def test_blob_key_fans_out_by_digest() -> None:
    assert blob_key(SHA) == f"blobs/sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert blob_key(SHA).startswith(BLOB_PREFIX)


@pytest.mark.parametrize("sha", BAD_SHAS)
def test_blob_key_refuses_anything_but_lowercase_hex(sha: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        blob_key(sha)


def test_sha256_round_trips_through_the_blob_key() -> None:
    assert sha256_from_blob_key(blob_key(SHA)) == SHA


@pytest.mark.parametrize(
    "key",
    [
        f"blobs/sha256/00/{SHA[2:4]}/{SHA}",  # fan-out folders that do not match the digest
        f"blobs/sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}/extra",
        f"hub/{blob_key(SHA)}",
        staging_key(UPLOAD_ID, SHA),
        blob_key(SHA).upper(),
        "blobs/",
    ],
)
def test_sha256_from_other_keys_is_none(key: str) -> None:
    assert sha256_from_blob_key(key) is None


def test_staging_keys() -> None:
    assert staging_prefix(UPLOAD_ID) == f"uploads/{UPLOAD_ID}/"
    assert staging_key(UPLOAD_ID, SHA) == f"uploads/{UPLOAD_ID}/{SHA}"
    assert staging_key(UPLOAD_ID, SHA).startswith(UPLOAD_PREFIX)
    assert parse_staging_key(staging_key(UPLOAD_ID, SHA)) == (UPLOAD_ID, SHA)
    assert parse_staging_key(blob_key(SHA)) is None


@pytest.mark.parametrize("upload_id", ["", UPLOAD_ID[:-1], UPLOAD_ID.upper(), "../" + UPLOAD_ID[3:], UPLOAD_ID + "/x"])
def test_staging_refuses_bad_upload_ids(upload_id: str) -> None:
    with pytest.raises(ValueError, match="upload id"):
        staging_prefix(upload_id)
    with pytest.raises(ValueError, match="upload id"):
        staging_key(upload_id, SHA)


@pytest.mark.parametrize("sha", BAD_SHAS)
def test_staging_key_refuses_bad_digests(sha: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        staging_key(UPLOAD_ID, sha)


def test_every_built_key_is_a_valid_storage_key() -> None:
    for key in (blob_key(SHA), staging_key(UPLOAD_ID, SHA), direct_staging_key(UPLOAD_ID, SHA, "0" * 16)):
        assert check_key(key) == key


COMMIT = "ab" * 20


def test_upstream_keys_are_valid_storage_keys_whatever_the_revision_or_path() -> None:
    from hub.storage.keys import UPSTREAM_PREFIX, upstream_file_key, upstream_ref_key, upstream_tree_key

    awkward = [".gitattributes", "../../etc/passwd", "a/./b", "refs/pr/1", "~x", "é.json", "", "x" * 300]
    keys = [upstream_ref_key("org/base.v1", text) for text in awkward]
    keys += [upstream_file_key("org/base", COMMIT, text) for text in awkward]
    keys += [upstream_tree_key("org/base", COMMIT, text, recursive=True) for text in awkward]
    assert all(check_key(key) == key and key.startswith(UPSTREAM_PREFIX) for key in keys)
    assert len(set(keys)) == len(keys)  # no two revisions or paths share a key
    assert upstream_file_key("org/base", COMMIT, "sub/config.json").endswith("/files/sub%2Fconfig%2Ejson")


@pytest.mark.parametrize("repo_id", ["org", "a/b/c", "../x", "org/.hidden", "org/a..b", "org/" + "x" * 97, "org/é"])
def test_upstream_keys_refuse_what_is_no_hugging_face_repo_id(repo_id: str) -> None:
    from hub.storage.keys import upstream_ref_key

    with pytest.raises(ValueError, match="upstream repository id"):
        upstream_ref_key(repo_id, "main")


def test_upstream_blob_keys_name_their_digest() -> None:
    from hub.storage.keys import upstream_blob_key

    assert upstream_blob_key("sha256", SHA) == f"upstream/blobs/sha256/{SHA[:2]}/{SHA[2:4]}/{SHA}"
    assert upstream_blob_key("git-sha1", SHA[:40]).startswith("upstream/blobs/git-sha1/")
    for algo, digest in (("md5", SHA[:32]), ("sha256", SHA[:40]), ("git-sha1", SHA)):
        with pytest.raises(ValueError, match="invalid upstream digest"):
            upstream_blob_key(algo, digest)


def test_direct_staging_keys_are_one_per_attempt_and_grouped_by_session() -> None:
    first, second = direct_staging_key(UPLOAD_ID, SHA, "0" * 16), direct_staging_key(UPLOAD_ID, SHA, "f" * 16)
    assert first != second and first.startswith(staging_key(UPLOAD_ID, SHA) + ".")
    assert parse_staging_key(first) == parse_staging_key(second) == (UPLOAD_ID, SHA)  # hub gc sees the session


@pytest.mark.parametrize("attempt", ["", "0" * 15, "0" * 17, "G" * 16, "../" + "0" * 13])
def test_direct_staging_key_refuses_bad_attempts(attempt: str) -> None:
    with pytest.raises(ValueError, match="attempt"):
        direct_staging_key(UPLOAD_ID, SHA, attempt)
