"""Changes to a published adapter: visibility, deletion. Deleting hides at once; `hub gc` reclaims the bytes later."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.permissions import Role, require_role
from hub.audit import AuditEvent
from hub.generation import bump as bump_generation
from hub.registry.catalog.refs import MAIN_REF, point_ref
from hub.registry.models import Adapter, Ref, Version
from hub.registry.publish.commit import copy_facets
from hub.timeutil import utcnow


def set_visibility(session: Session, adapter: Adapter, private: bool, actor: User) -> None:
    require_role(session, actor, adapter.namespace, Role.WRITE, "change visibility")
    adapter.private = private
    _audit(session, actor, "visibility", adapter, {"private": private})


def delete_adapter(session: Session, adapter: Adapter, actor: User) -> None:
    require_role(session, actor, adapter.namespace, Role.OWNER, "delete adapters")
    now = utcnow()
    adapter.deleted_at = now
    for version in adapter.versions:
        version.deleted_at = version.deleted_at or now
    _audit(session, actor, "delete.adapter", adapter, {})


def delete_version(session: Session, adapter: Adapter, version: Version, actor: User) -> None:
    """Hide one version; tags on it go away and `main` falls back to the newest live version."""
    require_role(session, actor, adapter.namespace, Role.OWNER, "delete versions")
    version.deleted_at = utcnow()
    for ref in list(session.scalars(select(Ref).where(Ref.version_id == version.id))):
        session.delete(ref)
    session.flush()  # the refs must be gone before main is re-pointed
    newest = _newest_live(session, adapter)
    if newest is None:
        adapter.deleted_at = version.deleted_at
    else:
        point_ref(session, adapter, MAIN_REF, newest)
        copy_facets(adapter, newest)
    _audit(session, actor, "delete.version", adapter, {"version": version.number})


def _newest_live(session: Session, adapter: Adapter) -> Version | None:
    query = (
        select(Version)
        .where(Version.adapter_id == adapter.id, Version.deleted_at.is_(None))
        .order_by(Version.number.desc())
        .limit(1)
    )
    return session.scalar(query)


def _audit(session: Session, actor: User, action: str, adapter: Adapter, detail: dict) -> None:
    """Every change here alters what search shows, so it also bumps the catalogue generation."""
    subject = f"{adapter.namespace.name}/{adapter.name}"
    session.add(AuditEvent(actor_id=actor.id, action=action, subject=subject, detail=detail))
    bump_generation(session)
