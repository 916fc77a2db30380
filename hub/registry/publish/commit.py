"""Commit an upload as a new version, in ONE transaction: validation first, then the rows.

The adapter row's `issued_number` is bumped with UPDATE ... RETURNING, which takes the row lock
(PostgreSQL) or the write lock (SQLite) first, so concurrent publishes to one adapter get distinct
consecutive numbers; the unique (adapter_id, number) constraint is the backstop.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.accounts.models import Namespace, User
from hub.accounts.permissions import Caller, Role
from hub.audit import record
from hub.audit import subject as audit_subject
from hub.errors import BlobMissing
from hub.events.outbox import announce
from hub.generation import bump as bump_generation
from hub.registry.catalog.derived import refresh as refresh_derived
from hub.registry.evaluations.store import record_evaluations
from hub.registry.models import Adapter, AdapterTag, Upload, Version, VersionFile
from hub.registry.publish.filetypes import DeclaredFile
from hub.registry.publish.limits import Limits
from hub.registry.publish.lineage import check_lineage, record_merge_sources
from hub.registry.publish.metadata import PublishMetadata, complete_metadata
from hub.registry.publish.unchanged import inherited_base, previous_version, refuse_unchanged
from hub.registry.publish.uploads import usable_blobs
from hub.registry.publish.validation import InspectedVersion, inspect_version
from hub.signing.verify import record_signature, verify_upload
from hub.storage import BlobStorage


class PublishService:
    def __init__(self, session: Session, storage: BlobStorage, limits: Limits) -> None:
        self.session = session
        self.storage = storage
        self.limits = limits
        # The last commit's warnings (evaluation results it could not read): the publish answer reports them.
        self.warnings: list[str] = []

    def commit(
        self, upload: Upload, caller: Caller, meta: PublishMetadata, *, allow_unchanged: bool = False
    ) -> Version:
        """The new version; NothingChanged when it would repeat the latest one, unless `allow_unchanged`."""
        namespace = self.session.get(Namespace, upload.namespace_id)
        assert namespace is not None  # the upload's foreign key
        # The role is checked again NOW: a member removed from the organisation since the upload started is refused.
        user = caller.require_role(namespace, Role.WRITE, "publish")
        self.warnings = []
        files = [DeclaredFile(**entry) for entry in upload.files]
        self._check_blobs_usable(upload, caller, files)
        inspected = inspect_version(self.storage, files, self.limits)
        previous = previous_version(self.session, upload)
        meta = complete_metadata(meta, inspected.config, inspected.facts, inherited_base(previous))
        if not allow_unchanged:
            refuse_unchanged(previous, files, meta, inspected.card or meta.description or "")
        lineage = check_lineage(self.session, meta.lineage, caller)  # before any row: a refusal stores nothing
        signer = verify_upload(self.session, self.storage, namespace, files)  # model.sig, from the hub's digests
        adapter = self._adapter_for(upload)
        version = self._new_version(adapter, user, meta, inspected, files, lineage)
        record_merge_sources(self.session, version)  # the reverse index, in this same transaction
        self.warnings = record_evaluations(self.session, version, inspected.eval_texts)  # never refuses
        self._update_adapter(adapter, meta)
        refresh_derived(self.session, adapter)
        upload.committed_version_id = version.id
        signed = {}
        if signer is not None:
            record_signature(self.session, version, signer)
            signed = {"signed_by": signer.key_id, "signer": signer.identity or signer.name}
        record(
            self.session, user, "publish", audit_subject(namespace.name, adapter.name, version=version.number), **signed
        )
        announce(self.session, "adapter.published", adapter, user, version=version)  # webhooks, same transaction
        bump_generation(self.session)
        return version

    def _check_blobs_usable(self, upload: Upload, caller: Caller, files: list[DeclaredFile]) -> None:
        """Each blob was sent in this upload, or the caller can read it now: a known digest alone is not enough."""
        usable = usable_blobs(self.session, upload, caller)
        for declared in files:
            if declared.sha256 not in usable:
                raise BlobMissing(
                    f"The file {declared.path!r} (sha256 {declared.sha256}) was never uploaded in this upload."
                )

    def _adapter_for(self, upload: Upload) -> Adapter:
        key = upload.adapter_name.lower()
        found = self.session.scalar(
            select(Adapter).where(Adapter.namespace_id == upload.namespace_id, Adapter.key == key, Adapter.is_live)
        )
        if found is not None:
            return found
        adapter = Adapter(namespace_id=upload.namespace_id, name=upload.adapter_name, key=key, issued_number=0)
        self.session.add(adapter)
        self.session.flush()  # need adapter.id; a concurrent create fails here on the unique key
        return adapter

    def _next_number(self, adapter: Adapter) -> int:
        bump = (
            update(Adapter)
            .where(Adapter.id == adapter.id)
            .values(issued_number=Adapter.issued_number + 1)
            .returning(Adapter.issued_number)
        )
        number = self.session.execute(bump).scalar_one()
        adapter.issued_number = number
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

    def _update_adapter(self, adapter: Adapter, meta: PublishMetadata) -> None:
        """The adapter's own settings a publish may state (the derived columns are refresh_derived's)."""
        adapter.license = meta.license or adapter.license
        if meta.tags:
            adapter.tags = [AdapterTag(tag=tag) for tag in meta.tags]
        if meta.private is not None:
            adapter.private = meta.private
