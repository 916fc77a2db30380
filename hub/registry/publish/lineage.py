"""Lineage of merged adapters: the sources a version was built from, checked at publish, filtered when shown.

Stored on the version as ``[{"adapter": "ns/name", "revision": <40 hex>, "version": "v3", "weight": 0.7}]``.
At publish every source must be a live version of a live adapter the publisher can read; a private
adapter they cannot read is refused with the very message a missing one gets, so the error leaks nothing.
When shown, a source the viewer cannot read (private, or deleted since) keeps only its weight: the name
of a private adapter must not leak through a public merge of it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.permissions import Caller
from hub.errors import AdapterNotFound, InvalidMetadata
from hub.registry.catalog.reads import CatalogService
from hub.registry.models import Adapter, Version
from hub.registry.visibility import visible_to

HIDDEN_SOURCE = {"adapter": None, "revision": None, "version": None}


def check_lineage(session: Session, entries: list[dict[str, Any]], publisher: Caller) -> list[dict[str, Any]] | None:
    """The lineage to store (names as registered, version numbers filled in), or None for no lineage.

    Raises InvalidMetadata naming the entry: an adapter that does not exist or `publisher` cannot read, a
    revision that is not one of that adapter's live versions, or a version label that disagrees.
    """
    if not entries:
        return None
    return [_checked(session, index, entry, publisher) for index, entry in enumerate(entries)]


def _checked(session: Session, index: int, entry: dict[str, Any], publisher: Caller) -> dict[str, Any]:
    name = str(entry["adapter"])
    namespace, slash, adapter_name = name.partition("/")
    try:
        if not slash:
            raise AdapterNotFound(name)
        adapter = CatalogService(session).adapter(namespace, adapter_name, publisher)
    except AdapterNotFound:
        raise InvalidMetadata(f"lineage[{index}]: no adapter is called {name[:200]}.") from None
    revision = str(entry["revision"])
    version = session.scalar(
        select(Version).where(Version.adapter_id == adapter.id, Version.revision == revision, Version.is_live)
    )
    label = f"{adapter.namespace.name}/{adapter.name}"
    if version is None:
        raise InvalidMetadata(f"lineage[{index}]: {label} has no version with revision {revision[:40]}.")
    number = f"v{version.number}"
    if entry.get("version") not in (None, number):
        raise InvalidMetadata(
            f"lineage[{index}]: revision {revision[:12]} of {label} is {number}, not {entry['version']}."
        )
    return {"adapter": label, "revision": revision, "version": number, "weight": float(entry["weight"])}


def visible_lineage(session: Session, version: Version | None, viewer: Caller) -> list[dict[str, Any]]:
    """`version`'s lineage as `viewer` may see it: a source they cannot read (private, or deleted since:
    adapter or version) keeps only its weight.

    Returns [] for a version that is not a merge (or None, for an adapter without versions).
    """
    lineage = (version.lineage if version is not None else None) or []
    if not lineage:
        return []
    revisions = {str(entry.get("revision")) for entry in lineage}
    readable = set(
        session.scalars(
            select(Version.revision)
            .join(Adapter, Version.adapter_id == Adapter.id)
            .where(Version.revision.in_(revisions), Version.is_live, Adapter.is_live, visible_to(viewer))
        )
    )
    return [
        entry if entry.get("revision") in readable else {**HIDDEN_SOURCE, "weight": entry.get("weight")}
        for entry in lineage
    ]
