"""Runs real huggingface_hub calls in a fresh process, for any installed client version (0.x to 2.x).

Usage: python hf_client.py < calls.json > results.json, where calls is [{"op": ..., "kwargs": {...}}, ...].
Each result is {"ok": value} or {"error": class name, "bases": [base class names], "message": ...}.
The environment (HF_ENDPOINT, HF_HOME, HF_TOKEN) is set by the test before this process imports
huggingface_hub, which reads it once, at import time. Standard library and huggingface_hub only.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _folder_digests(folder: Path) -> dict[str, str]:
    """sha256 of every file under folder, skipping the client's own bookkeeping (local_dir/.cache)."""
    return {
        str(path.relative_to(folder)): _digest(path)
        for path in folder.rglob("*")
        if path.is_file() and ".cache" not in path.relative_to(folder).parts
    }


def download(**kwargs: Any) -> dict[str, Any]:
    from huggingface_hub import hf_hub_download

    path = Path(hf_hub_download(**kwargs))
    return {"sha256": _digest(path), "commit": path.parent.name, "path": str(path)}


def snapshot(**kwargs: Any) -> dict[str, Any]:
    from huggingface_hub import snapshot_download

    folder = Path(snapshot_download(**kwargs))
    return {"folder": folder.name, "files": _folder_digests(folder)}


def file_exists(**kwargs: Any) -> bool:
    from huggingface_hub import file_exists

    return file_exists(**kwargs)


def repo_exists(**kwargs: Any) -> bool:
    from huggingface_hub import repo_exists

    return repo_exists(**kwargs)


def model_info(**kwargs: Any) -> dict[str, Any]:
    from huggingface_hub import HfApi

    info = HfApi().model_info(**kwargs)
    siblings = [
        {
            "rfilename": sibling.rfilename,
            "size": sibling.size,
            "blob_id": sibling.blob_id,
            "lfs_sha256": sibling.lfs.sha256 if sibling.lfs else None,
        }
        for sibling in info.siblings or []
    ]
    return {
        "id": info.id,
        "sha": info.sha,
        "siblings": siblings,
        "tags": info.tags,
        "card_data": info.card_data.to_dict() if info.card_data else None,
        "downloads": info.downloads,
        "private": info.private,
        "library_name": info.library_name,
        "pipeline_tag": info.pipeline_tag,
        "last_modified": info.last_modified.isoformat() if info.last_modified else None,
        "safetensors_total": info.safetensors.total if info.safetensors else None,
    }


def safetensors_header(**kwargs: Any) -> dict[str, Any]:
    from huggingface_hub import HfApi

    metadata = HfApi().parse_safetensors_file_metadata(**kwargs)
    return {name: {"dtype": info.dtype, "shape": list(info.shape)} for name, info in metadata.tensors.items()}


def list_tree(**kwargs: Any) -> list[dict[str, Any]]:
    from huggingface_hub import HfApi

    entries = HfApi().list_repo_tree(**kwargs)
    return [
        {"type": type(entry).__name__, "path": entry.path, "lfs": bool(getattr(entry, "lfs", None))}
        for entry in entries
    ]


def cli_download(repo_id: str, local_dir: str, revision: str = "main") -> dict[str, str]:
    """`hf download`, the command line of the same installation (HF_ENDPOINT from the environment)."""
    import subprocess

    command = [str(Path(sys.executable).parent / "hf"), "download", repo_id, "--revision", revision]
    subprocess.run([*command, "--local-dir", local_dir], check=True, capture_output=True, timeout=300)
    return _folder_digests(Path(local_dir))


def version() -> str:
    import huggingface_hub

    return huggingface_hub.__version__


OPS = {
    fn.__name__: fn
    for fn in (
        download,
        snapshot,
        file_exists,
        repo_exists,
        model_info,
        safetensors_header,
        list_tree,
        cli_download,
        version,
    )
}


def run(call: dict[str, Any]) -> dict[str, Any]:
    try:
        return {"ok": OPS[call["op"]](**call.get("kwargs", {}))}
    except Exception as error:  # reported to the test, which asserts on the class name
        bases = [cls.__name__ for cls in type(error).__mro__]
        return {"error": type(error).__name__, "bases": bases, "message": str(error)[:800]}


if __name__ == "__main__":
    json.dump([run(call) for call in json.load(sys.stdin)], sys.stdout)
