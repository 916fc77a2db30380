"""Read side of the registry: find adapters, resolve revisions, find files, count downloads."""

from __future__ import annotations

import re

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from hub.accounts.models import Namespace, User
from hub.accounts.permissions import role_in
from hub.errors import AdapterNotFound, FileNotFound, RevisionNotFound
from hub.registry.models import Adapter, Ref, Version, VersionFile

_VERSION_NUMBER_RE = re.compile(r"v(\d{1,9})")
_HEX_PREFIX_RE = re.compile(r"[0-9a-f]{7,40}")


class CatalogService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def adapter(self, namespace: str, name: str, viewer: User | None = None) -> Adapter:
        """The live adapter; a private one answers exactly like a missing one unless `viewer` may read it."""
        query = (
            select(Adapter)
            .join(Namespace)
            .where(Namespace.key == namespace.lower(), Adapter.key == name.lower(), Adapter.deleted_at.is_(None))
            .options(selectinload(Adapter.refs), selectinload(Adapter.tags))
        )
        found = self.session.scalar(query)
        if found is None or not self.can_read(found, viewer):
            raise AdapterNotFound(f"No adapter is called {namespace[:100]}/{name[:100]}.")
        return found

    def can_read(self, adapter: Adapter, viewer: User | None) -> bool:
        return not adapter.private or role_in(self.session, viewer, adapter.namespace_id) is not None

    def resolve(self, adapter: Adapter, revision: str) -> Version:
        """A version from a tag ("main", "stable"), a number ("v3"), or a revision id (or a 7+ hex prefix)."""
        version = (
            self._by_ref(adapter, revision) or self._by_number(adapter, revision) or self._by_hex(adapter, revision)
        )
        if version is None:
            raise RevisionNotFound(
                f"{adapter.namespace.name}/{adapter.name} has no version, tag or revision {revision[:80]!r}."
            )
        return version

    def _by_ref(self, adapter: Adapter, revision: str) -> Version | None:
        ref = self.session.get(Ref, (adapter.id, revision))
        return ref.version if ref and ref.version.deleted_at is None else None

    def _by_number(self, adapter: Adapter, revision: str) -> Version | None:
        match = _VERSION_NUMBER_RE.fullmatch(revision)
        if not match:
            return None
        query = select(Version).where(
            Version.adapter_id == adapter.id, Version.number == int(match.group(1)), Version.deleted_at.is_(None)
        )
        return self.session.scalar(query)

    def _by_hex(self, adapter: Adapter, revision: str) -> Version | None:
        if not _HEX_PREFIX_RE.fullmatch(revision):
            return None
        query = select(Version).where(
            Version.adapter_id == adapter.id, Version.revision.startswith(revision), Version.deleted_at.is_(None)
        )
        matches = list(self.session.scalars(query.limit(2)))
        return matches[0] if len(matches) == 1 else None  # an ambiguous prefix resolves to nothing

    def file(self, version: Version, path: str) -> VersionFile:
        query = select(VersionFile).where(VersionFile.version_id == version.id, VersionFile.path == path)
        found = self.session.scalar(query)
        if found is None:
            raise FileNotFound(f"Version v{version.number} has no file {path[:200]!r}.")
        return found

    def count_download(self, version: Version) -> None:
        # Atomic increments: concurrent downloads on other replicas are never lost.
        self.session.execute(
            update(Adapter).where(Adapter.id == version.adapter_id).values(downloads=Adapter.downloads + 1)
        )
        self.session.execute(update(Version).where(Version.id == version.id).values(downloads=Version.downloads + 1))
