"""`hub gc`: reclaim what no live version needs, after a grace period (mark and sweep, as the OCI registry does).

Order matters for safety against concurrent publishes: a Blob row is deleted first, in its own
transaction, and the foreign key from files to blobs makes that fail if a version started using
it meanwhile; only then is the object removed from storage. Objects younger than the grace period
are never touched, which protects uploads in flight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hub.db import unit_of_work
from hub.registry.models import Adapter, Blob, Upload, Version, VersionFile
from hub.storage import BLOB_PREFIX, UPLOAD_PREFIX, BlobStorage, blob_key, parse_staging_key, sha256_from_blob_key
from hub.timeutil import utcnow


@dataclass
class GcReport:
    dry_run: bool
    purged_versions: int = 0
    purged_adapters: int = 0
    expired_uploads: int = 0
    blobs: list[str] = field(default_factory=list)  # sha256 of deleted (or, dry run, deletable) blobs
    bytes_freed: int = 0
    staged: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # objects with no Blob row

    def summary(self) -> str:
        verb = "would remove" if self.dry_run else "removed"
        return (
            f"gc {verb}: {self.purged_versions} deleted versions, {self.purged_adapters} deleted adapters, "
            f"{self.expired_uploads} stale uploads, {len(self.blobs)} blobs ({self.bytes_freed} bytes), "
            f"{len(self.staged)} staged objects, {len(self.orphans)} orphaned objects"
        )


def collect_garbage(
    factory: sessionmaker[Session], storage: BlobStorage, *, grace: timedelta, dry_run: bool = True
) -> GcReport:
    report = GcReport(dry_run=dry_run)
    cutoff = utcnow() - grace
    with unit_of_work(factory) as session:
        _purge_deleted(session, cutoff, report)
        known_uploads = _expire_uploads(session, cutoff, report)
        candidates = _unreferenced(session, cutoff)  # after the purge, so a dry run counts what it would free
        if dry_run:
            session.rollback()
    _sweep_blobs(factory, storage, candidates, report)
    _sweep_objects(factory, storage, cutoff.timestamp(), known_uploads, report)
    return report


def _purge_deleted(session: Session, cutoff, report: GcReport) -> None:
    # Bulk deletes let the database cascade to files, refs and tags (ON DELETE CASCADE).
    versions = delete(Version).where(Version.deleted_at < cutoff)
    report.purged_versions = session.execute(versions).rowcount or 0
    adapters = delete(Adapter).where(Adapter.deleted_at < cutoff)
    report.purged_adapters = session.execute(adapters).rowcount or 0


def _expire_uploads(session: Session, cutoff, report: GcReport) -> set[str]:
    stale = delete(Upload).where(Upload.created_at < cutoff)
    report.expired_uploads = session.execute(stale).rowcount or 0
    return set(session.scalars(select(Upload.id).where(Upload.created_at >= cutoff)))


def _unreferenced(session: Session, cutoff: datetime) -> list[tuple[str, int]]:
    referenced = exists().where(VersionFile.sha256 == Blob.sha256)
    query = select(Blob.sha256, Blob.size).where(~referenced, Blob.created_at < cutoff).order_by(Blob.sha256)
    return [(sha, size) for sha, size in session.execute(query)]


def _sweep_blobs(
    factory: sessionmaker[Session], storage: BlobStorage, candidates: list[tuple[str, int]], report: GcReport
) -> None:
    for sha256, size in candidates:
        if not report.dry_run and not _delete_blob_row(factory, sha256):
            continue  # a publish started using it: keep it
        if not report.dry_run:
            storage.delete(blob_key(sha256))
        report.blobs.append(sha256)
        report.bytes_freed += size


def _delete_blob_row(factory: sessionmaker[Session], sha256: str) -> bool:
    try:
        with unit_of_work(factory) as session:
            return bool(session.execute(delete(Blob).where(Blob.sha256 == sha256)).rowcount)
    except IntegrityError:
        return False


def _sweep_objects(
    factory: sessionmaker[Session], storage: BlobStorage, cutoff: float, uploads: set[str], report: GcReport
) -> None:
    with unit_of_work(factory) as session:
        rows = set(session.scalars(select(Blob.sha256)))
    for key in storage.list(BLOB_PREFIX):
        if sha256_from_blob_key(key) not in rows and _older(storage, key, cutoff):
            _remove(storage, key, report.orphans, report.dry_run)
    for key in storage.list(UPLOAD_PREFIX):
        parsed = parse_staging_key(key)
        if (parsed is None or parsed[0] not in uploads) and _older(storage, key, cutoff):
            _remove(storage, key, report.staged, report.dry_run)


def _older(storage: BlobStorage, key: str, cutoff: float) -> bool:
    return storage.modified(key) < cutoff


def _remove(storage: BlobStorage, key: str, bucket: list[str], dry_run: bool) -> None:
    if not dry_run:
        storage.delete(key)
    bucket.append(key)
