"""Movable tags on versions ("main", "stable"...)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.permissions import Role, require_role
from hub.audit import AuditEvent
from hub.errors import InvalidName
from hub.registry.models import Adapter, Ref, Version
from hub.timeutil import utcnow

MAIN_REF = "main"  # always the latest version; moved only by publish


def point_ref(session: Session, adapter: Adapter, name: str, version: Version) -> None:
    ref = session.get(Ref, (adapter.id, name))
    if ref is None:
        session.add(Ref(adapter_id=adapter.id, name=name, version_id=version.id))
    else:
        ref.version_id, ref.updated_at = version.id, utcnow()


def move_ref(session: Session, adapter: Adapter, name: str, version: Version, user: User) -> None:
    """A user tag; 'main' is refused because it must always name the latest version."""
    require_role(session, user, adapter.namespace, Role.WRITE, "move tags")
    if name == MAIN_REF:
        raise InvalidName("The 'main' tag always points at the latest version; publish to move it.")
    point_ref(session, adapter, name, version)
    subject = f"{adapter.namespace.name}/{adapter.name}:{name}"
    session.add(AuditEvent(actor_id=user.id, action="tag", subject=subject, detail={"version": version.number}))
