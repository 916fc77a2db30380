"""BlobStorage in a local folder: one file per key, written to `.tmp/` and renamed into place.

The temporary files live under the root (not in /tmp) so the final os.replace never crosses a
filesystem boundary: a rename within one filesystem is atomic, a copy across two is not.
"""

from __future__ import annotations

import os
import stat
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from hub.storage.base import BlobNotFound, StorageError, check_key, check_prefix, check_range

TMP_DIR = ".tmp"  # dot-named, so it can never be a key (see check_key)
_REPLACE_ATTEMPTS = 5


class LocalBlobStorage:
    """Blobs as files under root. Meant for one host; several hub processes may share the folder."""

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()
        self._tmp_dir = self._root / TMP_DIR
        with _storage_errors(str(self._root)):
            self._tmp_dir.mkdir(parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        return self._root

    def writer(self, key: str) -> LocalBlobWriter:
        return LocalBlobWriter(key, self._path(key), self._tmp_dir)

    def put_bytes(self, key: str, data: bytes) -> None:
        writer = self.writer(key)
        try:
            writer.write(data)
            writer.commit()
        finally:
            writer.abort()

    def iter_range(
        self, key: str, start: int = 0, end: int | None = None, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        check_range(start, end, chunk_size)
        size = self.size(key)  # raises BlobNotFound now rather than at the first next()
        stop = size if end is None else min(end, size)
        return _iter_file(key, self._path(key), start, stop, chunk_size)

    def read_range(self, key: str, start: int, length: int) -> bytes:
        if length < 0:
            raise ValueError(f"invalid length {length}")
        return b"".join(self.iter_range(key, start, start + length))

    def size(self, key: str) -> int:
        with _reading(key):
            info = self._path(key).stat()
        if not stat.S_ISREG(info.st_mode):  # a folder such as "blobs" is not an object
            raise BlobNotFound(f"no blob at {key!r}")
        return info.st_size

    def modified(self, key: str) -> float:
        with _reading(key):
            info = self._path(key).stat()
        if not stat.S_ISREG(info.st_mode):
            raise BlobNotFound(f"no blob at {key!r}")
        return info.st_mtime

    def exists(self, key: str) -> bool:
        with _storage_errors(key):
            return self._path(key).is_file()

    def move(self, src: str, dst: str) -> None:
        src_path, dst_path = self._path(src), self._path(dst)
        if not self.exists(src):
            raise BlobNotFound(f"no blob at {src!r}")
        with _storage_errors(dst):
            _replace_into_place(src_path, dst_path)
        self._prune_empty_folders(src_path)

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return  # nothing stored at key: deleting is idempotent
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc}") from exc
        self._prune_empty_folders(path)

    def list(self, prefix: str = "") -> Iterator[str]:
        check_prefix(prefix)
        folder_key = prefix.rpartition("/")[0]
        folder = self._root.joinpath(*folder_key.split("/")) if folder_key else self._root
        start = f"{folder_key}/" if folder_key else ""
        return (key for key in _walk_sorted(folder, start) if key.startswith(prefix))

    def presigned_get_url(self, key: str, expires_s: int = 3600) -> str | None:
        check_key(key)
        return None  # files are served through the hub itself

    def describe(self) -> str:
        return self._root.as_uri()

    def _path(self, key: str) -> Path:
        # check_key rules out "..", absolute keys and dot segments, so the path stays under root.
        return self._root.joinpath(*check_key(key).split("/"))

    def _prune_empty_folders(self, path: Path) -> None:
        # Without this every finished upload session would leave an empty uploads/<id>/ behind.
        folder = path.parent
        while folder != self._root:
            try:
                folder.rmdir()
            except OSError:
                return  # not empty, or already gone: the folders above are not empty either
            folder = folder.parent


class LocalBlobWriter:
    """Writes to .tmp/<uuid>.part; commit fsyncs it and renames it onto the key's path."""

    def __init__(self, key: str, path: Path, tmp_dir: Path) -> None:
        self._key = key
        self._path = path
        self._tmp_path = tmp_dir / f"{uuid.uuid4().hex}.part"
        self._state = "open"
        with _storage_errors(key):
            # open("xb") rather than mkstemp: mkstemp forces mode 0600, while this honours the
            # umask, so a backup job or web server running as another user can read the blobs.
            self._file: BinaryIO = open(self._tmp_path, "xb")  # noqa: SIM115 (lives as long as the writer)

    def write(self, data: bytes) -> None:
        self._check_open()
        with _storage_errors(self._key):
            self._file.write(data)

    def commit(self) -> None:
        self._check_open()
        self._state = "committing"  # a failed commit cannot be retried, only aborted
        with _storage_errors(self._key):
            self._file.flush()
            os.fsync(self._file.fileno())  # the bytes must be on disk before the name points at them
            self._file.close()
            _replace_into_place(self._tmp_path, self._path)
        self._state = "committed"

    def abort(self) -> None:
        if self._state in ("committed", "aborted"):
            return
        with _storage_errors(self._key):
            self._file.close()
            self._tmp_path.unlink(missing_ok=True)
        self._state = "aborted"

    def _check_open(self) -> None:
        if self._state != "open":
            raise ValueError(f"writer for {self._key!r} is {self._state}")


def _replace_into_place(src: Path, dst: Path) -> None:
    """Rename src onto dst, creating dst's folders, and make the rename durable."""
    for _ in range(_REPLACE_ATTEMPTS):
        dst.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(src, dst)
        except FileNotFoundError:
            if not src.exists():
                raise
            continue  # a concurrent delete pruned dst's folder between mkdir and replace
        _fsync_folder(dst.parent)
        return
    raise StorageError(f"folder of {dst} keeps disappearing")


def _fsync_folder(folder: Path) -> None:
    # A rename is durable only once the folder entry is flushed too.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _iter_file(key: str, path: Path, start: int, stop: int, chunk_size: int) -> Iterator[bytes]:
    with _reading(key), path.open("rb") as file:
        file.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = file.read(min(chunk_size, remaining))
            if not chunk:
                return  # the object was replaced by a shorter one after size() was read
            remaining -= len(chunk)
            yield chunk


def _walk_sorted(folder: Path, key_prefix: str) -> Iterator[str]:
    """Yield the keys of the files under folder in plain string order, without a full sort."""
    try:
        entries = sorted(os.scandir(folder), key=_order_key)
    except (FileNotFoundError, NotADirectoryError):
        return  # no such folder: no keys under it
    except OSError as exc:
        raise StorageError(f"cannot list {folder}: {exc}") from exc
    for entry in entries:
        if entry.name.startswith("."):
            continue  # TMP_DIR and anything else no key can name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk_sorted(Path(entry.path), f"{key_prefix}{entry.name}/")
        elif entry.is_file(follow_symlinks=False):
            yield key_prefix + entry.name


def _order_key(entry: os.DirEntry[str]) -> str:
    # Every key inside folder "a" starts with "a/", so sorting the folder as "a/" puts it exactly
    # where its keys belong among its siblings ("a-b" < "a/x" < "ab"), which is S3's order.
    return entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name


@contextmanager
def _reading(key: str) -> Iterator[None]:
    """Map "nothing there" to BlobNotFound and any other OSError to StorageError."""
    try:
        yield
    except StorageError:
        raise
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
        raise BlobNotFound(f"no blob at {key!r}") from exc
    except OSError as exc:
        raise StorageError(f"cannot read {key!r}: {exc}") from exc


@contextmanager
def _storage_errors(key: str) -> Iterator[None]:
    """Map every OSError to StorageError."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        raise StorageError(f"local storage failed on {key!r}: {exc}") from exc
