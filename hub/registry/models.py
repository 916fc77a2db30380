"""Adapters, their immutable versions, files, content-addressed blobs, refs, uploads and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.accounts.models import NAME_MAX, Namespace, User
from hub.db import Base
from hub.timeutil import utcnow

SHA256_LEN = 64
FACET_COLUMNS = ("base_model", "base_model_type", "method", "library", "task", "license")
REVISION_LEN = 40  # a 40-hex revision id, the shape git and Hugging Face clients expect


class SoftDeleted:
    """Rows deleted by setting `deleted_at` (readers stop seeing them at once; `hub gc` purges them later).

    `is_live` is the one spelling of liveness, in Python (`adapter.is_live`) and in SQL (`Adapter.is_live`).
    """

    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @hybrid_property
    def is_live(self) -> bool:
        return self.deleted_at is None

    @is_live.inplace.expression
    @classmethod
    def _is_live_expression(cls) -> ColumnElement[bool]:
        return cls.deleted_at.is_(None)


class Blob(Base):
    """Bytes stored once under their sha256, however many versions share them."""

    __tablename__ = "blobs"
    __table_args__ = (CheckConstraint("length(sha256) = 64", name="sha256_length"),)

    sha256: Mapped[str] = mapped_column(String(SHA256_LEN), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Adapter(SoftDeleted, Base):
    """namespace/name; the facets of its latest version are copied here so search reads one table."""

    __tablename__ = "adapters"
    __table_args__ = (
        # Unique among live adapters only, so a deleted adapter's name can be used again at once.
        Index(
            "uq_adapters_live_name",
            "namespace_id",
            "key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index("ix_adapters_downloads", "downloads"),
        Index("ix_adapters_updated_at", "updated_at"),
        Index("ix_adapters_key", "key"),  # the name sort, read in order when a search matches many adapters
        # Covering indexes: a facet count reads only the index, never the rows (10-40x faster at 100k).
        Index("ix_adapters_visible", "private", "deleted_at"),
        *(Index(f"ix_adapters_facet_{column}", column, "private", "deleted_at") for column in FACET_COLUMNS),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    key: Mapped[str] = mapped_column(String(NAME_MAX))  # lower-cased name
    license: Mapped[str | None] = mapped_column(String(64))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The last version number handed out; deleted versions keep theirs, so numbers are never reused.
    issued_number: Mapped[int] = mapped_column("latest_number", Integer, default=0)
    # Derived (hub/registry/catalog/derived.py, the only writer): the newest live version, which `main` names,
    # and whose facets, card and time the columns below carry. None while no version is live.
    current_number: Mapped[int | None] = mapped_column(Integer)
    base_model: Mapped[str | None] = mapped_column(String(200))
    base_model_type: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str | None] = mapped_column(String(32))
    library: Mapped[str | None] = mapped_column(String(32))
    task: Mapped[str | None] = mapped_column(String(64))

    namespace: Mapped[Namespace] = relationship()
    versions: Mapped[list[Version]] = relationship(back_populates="adapter", order_by="Version.number")
    tags: Mapped[list[AdapterTag]] = relationship(
        back_populates="adapter", cascade="all, delete-orphan", order_by="AdapterTag.tag"
    )
    refs: Mapped[list[Ref]] = relationship(back_populates="adapter", order_by="Ref.name")
    text: Mapped[AdapterText | None] = relationship(
        back_populates="adapter", lazy="selectin", cascade="all, delete-orphan", uselist=False
    )

    @property
    def description(self) -> str:
        """The latest version's model card."""
        return self.text.description if self.text else ""

    @property
    def live_versions(self) -> list[Version]:
        """Versions not deleted, oldest first (deleted ones stay as rows until `hub gc` purges them)."""
        return [version for version in self.versions if version.deleted_at is None]


class AdapterText(Base):
    """The adapter's long texts, apart from its row: search scans and facet counts read the narrow
    adapters table only (at 100k adapters the inline texts made every scan read ~10x the pages)."""

    __tablename__ = "adapter_texts"

    adapter_id: Mapped[int] = mapped_column(ForeignKey("adapters.id", ondelete="CASCADE"), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Lower-cased namespace, name, base model, task, tags and card: the full-text index's document.
    search_text: Mapped[str] = mapped_column(Text, default="")

    adapter: Mapped[Adapter] = relationship(back_populates="text")


class AdapterTag(Base):
    """A topic tag ("sentiment", "customer-x"), searchable with tag=."""

    __tablename__ = "adapter_tags"

    __table_args__ = (Index("ix_adapter_tags_tag_adapter", "tag", "adapter_id"),)  # covering, for the tag facet

    adapter_id: Mapped[int] = mapped_column(ForeignKey("adapters.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)

    adapter: Mapped[Adapter] = relationship(back_populates="tags")


class Version(SoftDeleted, Base):
    """An immutable published version: v1, v2..., with the adapter's facts at that point."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("adapter_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    adapter_id: Mapped[int] = mapped_column(ForeignKey("adapters.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    revision: Mapped[str] = mapped_column(String(REVISION_LEN), unique=True)
    base_model: Mapped[str] = mapped_column(String(200))
    base_revision: Mapped[str | None] = mapped_column(String(64))
    base_model_type: Mapped[str | None] = mapped_column(String(64))
    base_fingerprint: Mapped[str | None] = mapped_column(String(SHA256_LEN))
    method: Mapped[str] = mapped_column(String(32))
    library: Mapped[str] = mapped_column(String(32))
    library_version: Mapped[str | None] = mapped_column(String(32))
    task: Mapped[str | None] = mapped_column(String(64))
    rank: Mapped[int | None] = mapped_column(Integer)
    trainable_params: Mapped[int] = mapped_column(BigInteger, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    target_modules: Mapped[list[Any]] = mapped_column(default=list)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    manifest: Mapped[dict[str, Any]] = mapped_column(default=dict)  # tensor name -> {dtype, shape}
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)  # derived: modules, layers, alpha...
    # A merged adapter's sources: [{adapter: "ns/name", revision: 40-hex, version: "v3", weight}]; NULL otherwise.
    lineage: Mapped[list[Any] | None] = mapped_column()
    card: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    adapter: Mapped[Adapter] = relationship(back_populates="versions")
    author: Mapped[User | None] = relationship()

    files: Mapped[list[VersionFile]] = relationship(back_populates="version", order_by="VersionFile.path")


class MergeSource(Base):
    """One source of a merged version, by adapter: the reverse of `Version.lineage`, so "the merges made from
    adapter X" is one indexed lookup rather than a scan of every version's JSON.

    Written with the version at publish (hub/registry/publish/commit.py); migration 0014 backfilled older merges.
    """

    __tablename__ = "merge_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    merged_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"), index=True)
    source_adapter_id: Mapped[int] = mapped_column(ForeignKey("adapters.id", ondelete="CASCADE"), index=True)
    source_revision: Mapped[str] = mapped_column(String(REVISION_LEN))
    weight: Mapped[float] = mapped_column(Float)


class VersionFile(Base):
    __tablename__ = "files"
    __table_args__ = (UniqueConstraint("version_id", "path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), index=True)

    version: Mapped[Version] = relationship(back_populates="files")


class Ref(Base):
    """A movable name for a version: "main" (always the latest) and user tags like "stable"."""

    __tablename__ = "refs"

    adapter_id: Mapped[int] = mapped_column(ForeignKey("adapters.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    adapter: Mapped[Adapter] = relationship(back_populates="refs")
    version: Mapped[Version] = relationship()


class Upload(Base):
    """A publish in progress: the files the client declared, until it commits them as a version."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"))
    adapter_name: Mapped[str] = mapped_column(String(NAME_MAX))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    files: Mapped[list[Any]] = mapped_column(default=list)  # [{path, sha256, size}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    committed_version_id: Mapped[int | None] = mapped_column(ForeignKey("versions.id", ondelete="SET NULL"))


class UploadBlob(Base):
    """A blob whose bytes this upload sent and the hub hashed: at commit, the upload may use it.

    A digest alone is not a capability: a blob the uploader neither sent here nor can read in a live
    version must be sent (hub/registry/publish/uploads.py). One row per blob, insert-only, so concurrent PUTs
    to one upload never overwrite each other's record. RESTRICT keeps `hub gc` from deleting a blob an
    open upload received; the rows go with their upload (gc expires uploads first).
    """

    __tablename__ = "upload_blobs"

    upload_id: Mapped[str] = mapped_column(ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"), primary_key=True, index=True)


class RegisteredBase(Base):
    """A base model registered by its structure: module map, sizes, dtype, fingerprint and small config files.

    Written once per (model_id, revision) from config.json and safetensors headers (sdk/bases.py); the
    weights never reach the hub. The namespace is the id's first segment, whose writers may register it.
    """

    __tablename__ = "registered_bases"
    __table_args__ = (UniqueConstraint("model_id", "revision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[str] = mapped_column(String(200), index=True)  # as adapters' Version.base_model names it
    revision: Mapped[str] = mapped_column(String(REVISION_LEN))
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespaces.id", ondelete="CASCADE"), index=True)
    structure: Mapped[dict[str, Any]] = mapped_column()  # ModelStructure.to_dict()
    model_type: Mapped[str | None] = mapped_column(String(64))
    num_layers: Mapped[int | None] = mapped_column(Integer)
    hidden_size: Mapped[int | None] = mapped_column(Integer)
    vocab_size: Mapped[int | None] = mapped_column(Integer)
    total_parameters: Mapped[int] = mapped_column(BigInteger)
    total_bytes: Mapped[int] = mapped_column(BigInteger)  # the weights' size, summed from the headers
    dtype: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(SHA256_LEN))
    files: Mapped[dict[str, Any]] = mapped_column()  # {"config.json": {...}, ...}: small JSON only
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    namespace: Mapped[Namespace] = relationship()
