"""Listings the web UI needs beyond search: a namespace's adapters and an adapter's version history."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, load_only, selectinload

from hub.accounts.models import Namespace
from hub.registry.models import Adapter, Version

NAMESPACE_PAGE = 50


def namespace_adapters(
    session: Session, namespace: Namespace, *, show_private: bool, page: int = 1, per_page: int = NAMESPACE_PAGE
) -> tuple[list[Adapter], int]:
    """One page of the namespace's adapters, recently updated first, and how many there are in all."""
    visible = [Adapter.namespace_id == namespace.id]
    if not show_private:
        visible.append(Adapter.private.is_(False))
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
        .where(Version.adapter_id == adapter.id)
        .order_by(Version.number.desc())
        .options(load_only(*columns, Version.method, Version.author_id), selectinload(Version.author))
    )
    return list(session.scalars(query))
