"""Listings the web UI needs beyond search: a namespace's adapters, the newest, an adapter's versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only, selectinload

from hub.accounts.models import Namespace
from hub.accounts.permissions import Caller
from hub.registry.models import Adapter, Version
from hub.registry.visibility import visible_to

NAMESPACE_PAGE = 50


def namespace_adapters(
    session: Session, namespace: Namespace, viewer: Caller, *, page: int = 1, per_page: int = NAMESPACE_PAGE
) -> tuple[list[Adapter], int]:
    """One page of the namespace's adapters `viewer` may see, recently updated first, and how many in all."""
    visible = [Adapter.namespace_id == namespace.id, Adapter.is_live, visible_to(viewer)]
    total = session.scalar(select(func.count()).select_from(Adapter).where(*visible)) or 0
    query = (
        select(Adapter)
        .where(*visible)
        .order_by(Adapter.updated_at.desc(), Adapter.id.desc())
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
        .options(selectinload(Adapter.tags), selectinload(Adapter.namespace))
    )
    return list(session.scalars(query)), total


def version_history(session: Session, adapter: Adapter) -> list[Version]:
    """Every version, newest first, without the large JSON columns (config, manifest, facts)."""
    columns = (Version.number, Version.revision, Version.created_at, Version.total_bytes, Version.downloads)
    query = (
        select(Version)
        .where(Version.adapter_id == adapter.id, Version.is_live)
        .order_by(Version.number.desc())
        .options(load_only(*columns, Version.method, Version.author_id), selectinload(Version.author))
    )
    return list(session.scalars(query))


def newest(session: Session, viewer: Caller, limit: int) -> list[Adapter]:
    """The most recently updated adapters the viewer may see: the front page's list, without the facet
    counts a search would also compute."""
    query = (
        select(Adapter)
        .where(Adapter.is_live, visible_to(viewer))
        .order_by(Adapter.updated_at.desc(), Adapter.id.desc())
        .limit(limit)
        .options(selectinload(Adapter.tags), selectinload(Adapter.namespace))
    )
    return list(session.scalars(query))
