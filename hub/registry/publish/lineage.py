"""Lineage of merged adapters: the sources a version was built from, checked at publish, filtered when shown.

Stored on the version as ``[{"adapter": "ns/name", "revision": <40 hex>, "version": "v3", "weight": 0.7}]``.
At publish every source must be a live version of a live adapter the publisher can read; a private
adapter they cannot read is refused with the very message a missing one gets, so the error leaks nothing.
When shown, a source the viewer cannot read (private, or deleted since) keeps only its weight: the name
of a private adapter must not leak through a public merge of it.

The other way round, a source's page lists the merges made from it (`merges_of`), read from the reverse
index `merge_sources` that `record_merge_sources` writes in the publish's transaction.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, contains_eager

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller
from hub.errors import AdapterNotFound, InvalidMetadata
from hub.registry.catalog.reads import CatalogService
from hub.registry.models import Adapter, MergeSource, Version
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


def record_merge_sources(session: Session, version: Version) -> None:
    """The reverse index of `version`'s lineage, added to the session (so to the publish's own transaction):
    `merges_of` then finds this merge from each source without reading any JSON."""
    lineage = version.lineage or []
    owners = _source_adapters(session, {str(entry["revision"]) for entry in lineage})
    for entry in lineage:
        revision, weight = str(entry["revision"]), float(entry["weight"])
        source = owners[revision]
        session.add(
            MergeSource(merged_version_id=version.id, source_adapter_id=source, source_revision=revision, weight=weight)
        )


def _source_adapters(session: Session, revisions: set[str]) -> dict[str, int]:
    """Revision -> its adapter's id (check_lineage has just found each one live and readable)."""
    if not revisions:
        return {}
    query = select(Version.revision, Version.adapter_id).where(Version.revision.in_(revisions))
    return {revision: adapter_id for revision, adapter_id in session.execute(query)}


def merges_of(session: Session, adapter: Adapter, viewer: Caller) -> list[dict[str, Any]]:
    """The merged adapters built from a live version of `adapter` that `viewer` may see, each once: the newest
    live merged version naming it, with this source's weight and the merge method its card records (or None).

    Deleted merged adapters and versions drop out, as do merges of a since-deleted source version; visibility is
    `visible_to`, the one rule, so a private merge shows only to those who may read it.
    """
    seen: dict[int, dict[str, Any]] = {}
    for merged, weight in session.execute(_merges_query(adapter, viewer)):
        seen.setdefault(merged.adapter_id, _merge_item(merged, weight))
    return list(seen.values())


def _merges_query(adapter: Adapter, viewer: Caller) -> Select[tuple[Version, float]]:
    """(merged version, weight) rows by merged adapter name, the newest merged version of each first."""
    source = aliased(Version)
    return (
        select(Version, MergeSource.weight)
        .join(MergeSource, MergeSource.merged_version_id == Version.id)
        .join(source, source.revision == MergeSource.source_revision)
        .join(Adapter, Adapter.id == Version.adapter_id)
        .join(Namespace, Namespace.id == Adapter.namespace_id)
        .where(MergeSource.source_adapter_id == adapter.id, source.is_live, Version.is_live, Adapter.is_live)
        .where(visible_to(viewer))
        .order_by(Namespace.key, Adapter.key, Version.number.desc())
        .options(contains_eager(Version.adapter).contains_eager(Adapter.namespace))  # the names, in this query
    )


_MERGE_METHOD = re.compile(r"^merge_method:\s*([\w.-]+)\s*$", re.MULTILINE)


def _merge_item(merged: Version, weight: float) -> dict[str, Any]:
    """What a source's page shows of one merge: `merge_method` is the card header `Hub.merge` writes."""
    header = merged.card.split("\n---", 1)[0] if merged.card.startswith("---") else ""
    method = _MERGE_METHOD.search(header)
    adapter = merged.adapter
    return {
        "adapter": f"{adapter.namespace.name}/{adapter.name}",
        "version": f"v{merged.number}",
        "revision": merged.revision,
        "weight": weight,
        "method": method.group(1) if method else None,
        "private": adapter.private,
    }
