"""An adapter version as the Hugging Face Hub would describe it: model info, file tree, git-style ids.

No HTTP here (hub/api/hf.py serves these). What the clients need from each field is written down in
docs/huggingface.md ("What the hub serves").

Every file is presented as a Git LFS file, as in a Hugging Face repo whose .gitattributes tracks `*`:
the ETag and `lfs.oid` are the file's sha256 (which the hub already stores), and the git `oid` is the
sha1 of the LFS pointer text, which is computed from (sha256, size) alone. So HEAD, model info and tree
are answered from database rows without reading a byte of storage, and the client's checks stay
consistent: `verify_repo_checksums` compares sha256 whenever `lfs` is present, and in `local_dir`
mode a 64-hex ETag lets the client skip re-downloading a file it already has.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from math import prod
from typing import Any

from hub.errors import FileNotFound
from hub.registry.models import Adapter, Version, VersionFile
from hub.timeutil import as_utc

# Hugging Face's `library_name` for each library the hub records ("adapters" is AdapterHub's library).
_HF_LIBRARY = {"peft": "peft", "adapters": "adapter-transformers"}


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The Git LFS pointer file that stands for a file's content in git."""
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n".encode()


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def file_oid(entry: VersionFile) -> str:
    return git_blob_id(lfs_pointer(entry.sha256, entry.size))


def lfs_info(entry: VersionFile) -> dict[str, Any]:
    return {"sha256": entry.sha256, "size": entry.size, "pointerSize": len(lfs_pointer(entry.sha256, entry.size))}


def hf_time(value: datetime | None) -> str | None:
    # Hugging Face's exact shape (milliseconds, "Z"); 0.x clients parse it with one strptime pattern.
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None


def model_info(adapter: Adapter, version: Version, *, files_metadata: bool) -> dict[str, Any]:
    """The JSON of GET /api/models/{id}[/revision/{rev}]: `id` and `sha` are the fields clients require."""
    repo_id = f"{adapter.namespace.name}/{adapter.name}"
    library = _HF_LIBRARY.get(version.library, version.library)
    info: dict[str, Any] = {
        "_id": f"{adapter.id:024x}",
        "id": repo_id,
        "modelId": repo_id,
        "author": adapter.namespace.name,
        "sha": version.revision,
        "lastModified": hf_time(version.created_at),
        "createdAt": hf_time(adapter.created_at),
        "private": adapter.private,
        "gated": False,
        "disabled": False,
        "downloads": adapter.downloads,
        "likes": 0,
        "library_name": library,
        "pipeline_tag": version.task,
        "tags": _tags(adapter, version, library),
        "cardData": _card_data(adapter, version, library),
        "siblings": [_sibling(entry, files_metadata) for entry in version.files],
        "usedStorage": version.total_bytes,
    }
    if parameters := _parameter_counts(version.manifest):
        info["safetensors"] = {"parameters": parameters, "total": sum(parameters.values())}
    return info


def _user_tags(adapter: Adapter) -> list[str]:
    return [tag.tag for tag in adapter.tags]


def _tags(adapter: Adapter, version: Version, library: str) -> list[str]:
    tags = [library, "safetensors", version.method, f"base_model:adapter:{version.base_model}"]
    tags += [f"base_model:{version.base_model}", version.task or "", *_user_tags(adapter)]
    if adapter.license:
        tags.append(f"license:{adapter.license}")
    return list(dict.fromkeys(tag for tag in tags if tag))


def _card_data(adapter: Adapter, version: Version, library: str) -> dict[str, Any]:
    card: dict[str, Any] = {
        "base_model": version.base_model,
        "library_name": library,
        "tags": list(dict.fromkeys([version.method, *_user_tags(adapter)])),
    }
    if adapter.license:
        card["license"] = adapter.license
    if version.task:
        card["pipeline_tag"] = version.task
    return card


def _sibling(entry: VersionFile, files_metadata: bool) -> dict[str, Any]:
    if not files_metadata:
        return {"rfilename": entry.path}
    return {"rfilename": entry.path, "size": entry.size, "blobId": file_oid(entry), "lfs": lfs_info(entry)}


def _parameter_counts(manifest: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for tensor in manifest.values():
        counts[tensor["dtype"]] = counts.get(tensor["dtype"], 0) + prod(tensor["shape"])
    return counts


@dataclass(frozen=True)
class TreeQuery:
    path: str = ""
    recursive: bool = False


def tree(version: Version, query: TreeQuery) -> list[dict[str, Any]]:
    """The entries of GET /api/models/{id}/tree/{rev}[/{path}]: folders and files, sorted by path.

    Raises FileNotFound when `path` names no folder of the version.
    """
    prefix = query.path.strip("/")
    base = f"{prefix}/" if prefix else ""
    inside = [entry for entry in version.files if entry.path.startswith(base)]
    if prefix and not inside:
        raise FileNotFound(f"Version v{version.number} has no folder {prefix[:200]!r}.")
    folders: set[str] = set()
    files: list[VersionFile] = []
    for entry in inside:
        parts = entry.path[len(base) :].split("/")
        # The folders between `path` and the file: all of them when recursive, else only the first level.
        levels = range(1, len(parts)) if query.recursive else range(1, min(2, len(parts)))
        folders.update(base + "/".join(parts[:level]) for level in levels)
        if query.recursive or len(parts) == 1:
            files.append(entry)
    entries = [_folder_entry(folder, [e for e in inside if e.path.startswith(f"{folder}/")]) for folder in folders]
    entries += [_file_entry(entry) for entry in files]
    return sorted(entries, key=lambda item: item["path"])


def _file_entry(entry: VersionFile) -> dict[str, Any]:
    lfs = lfs_info(entry)
    return {
        "type": "file",
        "oid": file_oid(entry),
        "size": entry.size,
        "path": entry.path,
        "lfs": {"oid": lfs["sha256"], "size": lfs["size"], "pointerSize": lfs["pointerSize"]},
    }


def _folder_entry(path: str, members: Iterable[VersionFile]) -> dict[str, Any]:
    # Clients require an oid but never read a folder's; a digest of its contents keeps it stable per commit.
    listing = "".join(f"{entry.path}\0{entry.sha256}\n" for entry in sorted(members, key=lambda e: e.path))
    return {
        "type": "directory",
        "oid": hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest(),
        "size": 0,
        "path": path,
    }
