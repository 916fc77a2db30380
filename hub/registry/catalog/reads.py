"""Read side of the registry: find adapters, resolve revisions, find files (downloads are counted in downloads.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller
from hub.errors import AdapterNotFound, FileNotFound, RevisionNotFound
from hub.registry.catalog.refs import MAIN_REF
from hub.registry.models import Adapter, Ref, Version, VersionFile
from hub.registry.visibility import visible_to
from sdk.formats import REVISION_PREFIX_RE, VERSION_NUMBER_RE


class CatalogService:
    def __init__(self, session: Session) -> None:
        self.session = session

    def adapter(self, namespace: str, name: str, viewer: Caller | None = None) -> Adapter:
        """The live adapter `viewer` may see (None: an anonymous reader).

        Visibility is part of the query, so a private adapter and a missing one take the same path and the
        same time to answer 404: neither the message nor the timing tells them apart.
        """
        query = (
            select(Adapter)
            .join(Namespace)
            .where(Namespace.key == namespace.lower(), Adapter.key == name.lower(), Adapter.is_live)
            .where(visible_to(viewer))
            .options(selectinload(Adapter.refs), selectinload(Adapter.tags))
        )
        found = self.session.scalar(query)
        if found is None:
            raise AdapterNotFound(f"No adapter is called {namespace[:100]}/{name[:100]}.")
        return found

    def current(self, adapter: Adapter) -> Version | None:
        """The newest live version (what `main` names), or None for an adapter without one."""
        return self._by_ref(adapter, MAIN_REF)

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
        return ref.version if ref and ref.version.is_live else None

    def _by_number(self, adapter: Adapter, revision: str) -> Version | None:
        match = VERSION_NUMBER_RE.fullmatch(revision)
        if not match:
            return None
        query = select(Version).where(
            Version.adapter_id == adapter.id, Version.number == int(match.group(1)), Version.is_live
        )
        return self.session.scalar(query)

    def _by_hex(self, adapter: Adapter, revision: str) -> Version | None:
        if not REVISION_PREFIX_RE.fullmatch(revision):
            return None
        query = select(Version).where(
            Version.adapter_id == adapter.id, Version.revision.startswith(revision), Version.is_live
        )
        matches = list(self.session.scalars(query.limit(2)))
        return matches[0] if len(matches) == 1 else None  # an ambiguous prefix resolves to nothing

    def file(self, version: Version, path: str) -> VersionFile:
        query = select(VersionFile).where(VersionFile.version_id == version.id, VersionFile.path == path)
        found = self.session.scalar(query)
        if found is None:
            raise FileNotFound(f"Version v{version.number} has no file {path[:200]!r}.")
        return found
