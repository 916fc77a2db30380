"""What only the local backend has: files, folders and its .tmp/ area."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.storage import LocalBlobStorage, StorageError, blob_key, staging_key

SHA = "ab" * 32


@pytest.fixture
def storage(tmp_path: Path) -> LocalBlobStorage:
    return LocalBlobStorage(tmp_path / "store")


def _files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def test_keys_are_paths_under_the_root(storage: LocalBlobStorage) -> None:
    storage.put_bytes(blob_key(SHA), b"data")
    assert (storage.root / "blobs" / "sha256" / "ab" / "ab" / SHA).read_bytes() == b"data"
    assert storage.describe() == storage.root.as_uri()


def test_writes_go_through_tmp(storage: LocalBlobStorage) -> None:
    writer = storage.writer(blob_key(SHA))
    writer.write(b"partial")
    assert [path.parent.name for path in storage.root.rglob("*.part")] == [".tmp"]
    writer.commit()
    assert _files(storage.root) == [blob_key(SHA)]


def test_delete_and_move_prune_empty_folders(storage: LocalBlobStorage) -> None:
    staged = staging_key("1" * 32, SHA)
    storage.put_bytes(staged, b"data")
    storage.move(staged, blob_key(SHA))
    assert not (storage.root / "uploads").exists()  # uploads/<id>/ would otherwise pile up
    storage.delete(blob_key(SHA))
    assert sorted(path.name for path in storage.root.iterdir()) == [".tmp"]


def test_write_recreates_a_pruned_folder(storage: LocalBlobStorage) -> None:
    writer = storage.writer("a/b/c")
    storage.put_bytes("a/b/d", b"")
    storage.delete("a/b/d")  # prunes a/b and a while the writer is open
    writer.write(b"data")
    writer.commit()
    assert storage.read_range("a/b/c", 0, 10) == b"data"


def test_committed_files_honour_the_umask(storage: LocalBlobStorage) -> None:
    storage.put_bytes("key", b"data")
    assert (storage.root / "key").stat().st_mode & 0o044  # readable by group/others, unlike mkstemp


def test_root_that_cannot_be_a_folder_is_a_storage_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(StorageError):
        LocalBlobStorage(tmp_path / "file" / "store")


def test_writing_where_a_file_blocks_the_folder_is_a_storage_error(storage: LocalBlobStorage) -> None:
    storage.put_bytes("a", b"")
    writer = storage.writer("a/b")
    writer.write(b"data")
    with pytest.raises(StorageError):
        writer.commit()
    writer.abort()
    assert list(storage.list()) == ["a"]
    assert list((storage.root / ".tmp").iterdir()) == []
