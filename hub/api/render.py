"""JSON representations of registry objects, shared by the API and the web UI."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from hub.registry.evaluations.models import Evaluation
from hub.registry.evaluations.store import evaluation_json
from hub.registry.models import Adapter, RegisteredBase, Version, VersionFile
from hub.signing.verify import signature_view
from hub.timeutil import isoformat


def adapter_id(adapter: Adapter) -> str:
    return f"{adapter.namespace.name}/{adapter.name}"


def adapter_summary(adapter: Adapter) -> dict[str, Any]:
    return {
        "id": adapter_id(adapter),
        "namespace": adapter.namespace.name,
        "name": adapter.name,
        "base_model": adapter.base_model,
        "architecture": adapter.base_model_type,
        "method": adapter.method,
        "library": adapter.library,
        "task": adapter.task,
        "license": adapter.license,
        "tags": [tag.tag for tag in adapter.tags],
        "downloads": adapter.downloads,
        "latest_version": f"v{adapter.current_number}" if adapter.current_number else None,
        "updated_at": isoformat(adapter.updated_at),
    }


def adapter_detail(
    adapter: Adapter, *, lineage: list[dict[str, Any]], merges: list[dict[str, Any]], base: dict[str, Any]
) -> dict[str, Any]:
    """`lineage`: the latest version's, as the viewer may see it (hub.registry.publish.lineage.visible_lineage);
    `merges`: the merged adapters built from this one that the viewer may see (lineage.merges_of);
    `base`: the latest version beside its registered base (hub.registry.catalog.sizes.share_of_base)."""
    refs = {ref.name: f"v{ref.version.number}" for ref in adapter.refs}
    versions = [version_summary(version) for version in reversed(adapter.live_versions)]
    return {
        **adapter_summary(adapter),
        "description": adapter.description,
        "private": adapter.private,
        "created_at": isoformat(adapter.created_at),
        "refs": refs,
        "versions": versions,
        "lineage": lineage,
        "merges": merges,
        "base": base,
    }


def version_summary(version: Version) -> dict[str, Any]:
    return {
        "version": f"v{version.number}",
        "number": version.number,
        "revision": version.revision,
        "created_at": isoformat(version.created_at),
        "method": version.method,
        "base_model": version.base_model,
        "total_bytes": version.total_bytes,
        "downloads": version.downloads,
    }


def version_detail(
    version: Version, base_url: str, *, lineage: list[dict[str, Any]], evaluations: list[Evaluation]
) -> dict[str, Any]:
    """`lineage`: the version's sources as the viewer may see it (hub.registry.publish.lineage.visible_lineage);
    `evaluations`: its rows (hub.registry.evaluations.store.evaluations_of)."""
    adapter = version.adapter
    return {
        "adapter": adapter_id(adapter),
        **version_summary(version),
        "author": version.author.name if version.author else None,
        "base_revision": version.base_revision,
        "base_model_type": version.base_model_type,
        "base_fingerprint": version.base_fingerprint,
        "library": version.library,
        "library_version": version.library_version,
        "task": version.task,
        "rank": version.rank,
        "target_modules": version.target_modules,
        "trainable_params": version.trainable_params,
        "refs": sorted(ref.name for ref in adapter.refs if ref.version_id == version.id),
        "files": [file_entry(version, entry, base_url) for entry in version.files],
        "config": version.config,
        "facts": version.facts,
        "manifest": version.manifest,
        "card": version.card,
        "lineage": lineage,
        "signature": signature_view(version),
        "evaluations": [evaluation_json(row) for row in evaluations],
    }


def base_detail(base: RegisteredBase, *, full: bool = True) -> dict[str, Any]:
    """A registered base; `full` adds its module map and config files (the list leaves them out)."""
    document = {
        "id": base.model_id,
        "revision": base.revision,
        "namespace": base.namespace.name,
        "model_type": base.model_type,
        "num_layers": base.num_layers,
        "hidden_size": base.hidden_size,
        "vocab_size": base.vocab_size,
        "total_parameters": base.total_parameters,
        "total_bytes": base.total_bytes,
        "dtype": base.dtype,
        "fingerprint": base.fingerprint,
        "modules": len(base.structure.get("modules") or {}),
        "created_at": isoformat(base.created_at),
    }
    return document | {"structure": base.structure, "files": base.files} if full else document


def file_entry(version: Version, entry: VersionFile, base_url: str) -> dict[str, Any]:
    return {
        "path": entry.path,
        "size": entry.size,
        "sha256": entry.sha256,
        "url": f"{base_url}{file_path(version, entry.path)}",
    }


def file_path(version: Version, path: str) -> str:
    adapter = version.adapter
    return f"/api/adapters/{adapter.namespace.name}/{adapter.name}/versions/{version.revision}/files/{quote(path)}"
