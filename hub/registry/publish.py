"""Commit an upload as a new version, in ONE transaction: validation first, then the rows.

The adapter row's `latest_number` is bumped with UPDATE ... RETURNING, which takes the row lock
(PostgreSQL) or the write lock (SQLite) first, so concurrent publishes to one adapter get distinct
consecutive numbers; the unique (adapter_id, number) constraint is the backstop.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.errors import BlobMissing
from hub.registry.filetypes import DeclaredFile
from hub.registry.generation import bump as bump_generation
from hub.registry.limits import Limits
from hub.registry.lineage import check_lineage
from hub.registry.metadata import PublishMetadata, complete_metadata
from hub.registry.models import Adapter, AdapterTag, AdapterText, AuditEvent, Upload, Version, VersionFile
from hub.registry.refs import MAIN_REF, point_ref
from hub.registry.uploads import usable_blobs
from hub.registry.validation import InspectedVersion, inspect_version
from hub.storage import BlobStorage
from hub.timeutil import utcnow


class PublishService:
    def __init__(self, session: Session, storage: BlobStorage, limits: Limits) -> None:
        self.session = session
        self.storage = storage
        self.limits = limits

    def commit(self, upload: Upload, user: User, meta: PublishMetadata) -> Version:
        files = [DeclaredFile(**entry) for entry in upload.files]
        self._check_blobs_usable(upload, user, files)
        inspected = inspect_version(self.storage, files, self.limits)
        meta = complete_metadata(meta, inspected.config, inspected.facts)
        lineage = check_lineage(self.session, meta.lineage, user)  # before any row: a refusal stores nothing
        adapter = self._adapter_for(upload)
        version = self._new_version(adapter, user, meta, inspected, files, lineage)
        self._update_adapter(adapter, version, meta, inspected)
        point_ref(self.session, adapter, MAIN_REF, version)
        upload.committed_version_id = version.id
        self.session.add(AuditEvent(actor_id=user.id, action="publish", subject=_subject(adapter, version)))
        bump_generation(self.session)
        return version

    def _check_blobs_usable(self, upload: Upload, user: User, files: list[DeclaredFile]) -> None:
        """Each blob was sent in this upload, or the user can read it now: a known digest alone is not enough."""
        usable = usable_blobs(self.session, upload, user)
        for declared in files:
            if declared.sha256 not in usable:
                raise BlobMissing(
                    f"The file {declared.path!r} (sha256 {declared.sha256}) was never uploaded in this upload."
                )

    def _adapter_for(self, upload: Upload) -> Adapter:
        key = upload.adapter_name.lower()
        found = self.session.scalar(
            select(Adapter).where(
                Adapter.namespace_id == upload.namespace_id, Adapter.key == key, Adapter.deleted_at.is_(None)
            )
        )
        if found is not None:
            return found
        adapter = Adapter(namespace_id=upload.namespace_id, name=upload.adapter_name, key=key, latest_number=0)
        self.session.add(adapter)
        self.session.flush()  # need adapter.id; a concurrent create fails here on the unique key
        return adapter

    def _next_number(self, adapter: Adapter) -> int:
        bump = (
            update(Adapter)
            .where(Adapter.id == adapter.id)
            .values(latest_number=Adapter.latest_number + 1)
            .returning(Adapter.latest_number)
        )
        number = self.session.execute(bump).scalar_one()
        adapter.latest_number = number
        return number

    def _new_version(
        self,
        adapter: Adapter,
        user: User,
        meta: PublishMetadata,
        inspected: InspectedVersion,
        files: list[DeclaredFile],
        lineage: list[dict[str, Any]] | None,
    ) -> Version:
        facts = inspected.facts
        if meta.converted_from:
            facts = {**facts, "converted_from": meta.converted_from}  # which pickles the client converted
        assert meta.base_model is not None  # complete_metadata guarantees it
        version = Version(
            adapter_id=adapter.id,
            number=self._next_number(adapter),
            revision=secrets.token_hex(20),
            base_model=meta.base_model,
            base_revision=meta.base_revision,
            base_model_type=meta.base_model_type,
            base_fingerprint=meta.base_fingerprint,
            method=facts["method"],
            library=facts["library"],
            library_version=facts.get("library_version"),
            task=meta.task,
            rank=facts.get("rank"),
            trainable_params=facts.get("trainable_params", 0),
            total_bytes=inspected.total_bytes,
            target_modules=facts.get("target_modules", []),
            config=inspected.config,
            manifest=inspected.manifest,
            facts=facts,
            lineage=lineage,
            card=inspected.card or meta.description or "",
            author_id=user.id,
            files=[VersionFile(path=f.path, size=f.size, sha256=f.sha256) for f in files],
        )
        self.session.add(version)
        self.session.flush()  # need version.id for the ref and the upload
        return version

    def _update_adapter(
        self, adapter: Adapter, version: Version, meta: PublishMetadata, inspected: InspectedVersion
    ) -> None:
        adapter.license = meta.license or adapter.license
        if meta.tags:
            adapter.tags = [AdapterTag(tag=tag) for tag in meta.tags]
        if meta.private is not None:
            adapter.private = meta.private
        copy_facets(adapter, version)


def copy_facets(adapter: Adapter, version: Version) -> None:
    """The adapter row carries its latest live version's facets, so search reads one table."""
    adapter.updated_at = version.created_at or utcnow()
    for facet in ("base_model", "base_model_type", "method", "library", "task"):
        setattr(adapter, facet, getattr(version, facet))
    if adapter.text is None:
        adapter.text = AdapterText()
    adapter.text.description = version.card
    adapter.text.search_text = search_text(adapter, [tag.tag for tag in adapter.tags])


# Punctuation is stored as spaces so both engines index the same words: PostgreSQL's parser reads
# "tiny/llama-test" as ONE file-path token, so a search for "llama" would miss it there (not in FTS5).
_NOT_A_WORD = re.compile(r"[\W_]+")


def search_text(adapter: Adapter, tags: list[str]) -> str:
    namespace = adapter.namespace.name if adapter.namespace else ""
    parts = [
        namespace,
        adapter.name,
        adapter.base_model or "",
        adapter.task or "",
        " ".join(tags),
        adapter.description,
    ]
    return _NOT_A_WORD.sub(" ", " ".join(parts).lower()).strip()


def _subject(adapter: Adapter, version: Version) -> str:
    return f"{adapter.namespace.name}/{adapter.name}@v{version.number}" if adapter.namespace else str(adapter.id)
