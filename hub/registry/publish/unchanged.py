"""What a publish inherits from the adapter's latest live version, and whether it changes anything at all.

A new version need not restate its base model (complete_metadata fills it from the previous version), and a
publish whose files and metadata all equal that version's makes no version (NothingChanged), unless asked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.errors import NothingChanged
from hub.registry.models import Adapter, Upload, Version
from hub.registry.publish.filetypes import DeclaredFile
from hub.registry.publish.metadata import BaseStated, PublishMetadata
from sdk.signing.bundle import SIGNATURE_NAME


def previous_version(session: Session, upload: Upload) -> Version | None:
    """The newest live version of the live adapter the upload publishes to; None for a new adapter."""
    query = (
        select(Version)
        .join(Adapter, Adapter.id == Version.adapter_id)
        .where(
            Adapter.namespace_id == upload.namespace_id,
            Adapter.key == upload.adapter_name.lower(),
            Adapter.is_live,
            Version.is_live,
        )
        .order_by(Version.number.desc())
        .limit(1)
    )
    return session.scalar(query)


def inherited_base(previous: Version | None) -> BaseStated | None:
    if previous is None:
        return None
    return BaseStated(previous.base_model, previous.base_revision, previous.base_model_type)


def refuse_unchanged(previous: Version | None, files: list[DeclaredFile], meta: PublishMetadata, card: str) -> None:
    """Raise NothingChanged when the publish (completed metadata, model card) would repeat `previous`."""
    if previous is None or not _same_files(previous, files) or not _same_metadata(previous, meta, card):
        return
    raise NothingChanged(
        f"Nothing changed since v{previous.number}: every file and the metadata equal it, so no version was made. "
        "To make one anyway, publish with allow_unchanged (hub publish --force).",
        version=previous,
    )


def _same_files(previous: Version, files: list[DeclaredFile]) -> bool:
    # A signature is made anew at each signing (ECDSA is randomised): signing the same files again changes nothing.
    def listed(entries: list[Any]) -> set[tuple[str, str]]:
        return {(f.path, "signed" if f.path == SIGNATURE_NAME else f.sha256) for f in entries}

    return listed(previous.files) == listed(files)


def _same_metadata(previous: Version, meta: PublishMetadata, card: str) -> bool:
    adapter = previous.adapter
    version_fields = ("base_model", "base_revision", "base_model_type", "base_fingerprint", "task")
    same_version = all(getattr(meta, name) == getattr(previous, name) for name in version_fields)
    # Adapter-level fields left unstated keep their value, so only a stated, different one is a change.
    same_adapter = (
        meta.license in (None, adapter.license)
        and (not meta.tags or sorted(meta.tags) == sorted(tag.tag for tag in adapter.tags))
        and meta.private in (None, adapter.private)
    )
    return same_version and same_adapter and card == previous.card and _same_lineage(previous, meta.lineage)


def _same_lineage(previous: Version, lineage: list[dict[str, Any]]) -> bool:
    def sources(entries: list[dict[str, Any]] | None) -> list[tuple[str, float]]:
        return sorted((str(entry["revision"]), float(entry["weight"])) for entry in entries or [])

    return sources(previous.lineage) == sources(lineage)
