"""Changes to a published adapter: tags, visibility, deletion. Deleting hides at once; `hub gc` reclaims the
bytes later. Each change checks the caller's role now, records itself in the audit log, recomputes the
adapter's derived columns and bumps the catalogue generation, in the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.accounts.permissions import Caller, Role
from hub.audit import record, subject
from hub.errors import InvalidName, RevisionNotFound
from hub.events.outbox import announce
from hub.generation import bump as bump_generation
from hub.registry.catalog.derived import refresh as refresh_derived
from hub.registry.catalog.refs import MAIN_REF, point_ref
from hub.registry.models import Adapter, Ref, Version
from hub.timeutil import utcnow


def move_ref(session: Session, adapter: Adapter, name: str, version: Version, caller: Caller) -> None:
    """A user tag; 'main' is refused because it must always name the newest live version."""
    user = caller.require_role(adapter.namespace, Role.WRITE, "move tags")
    if name == MAIN_REF:
        raise InvalidName("The 'main' tag always points at the latest version; publish to move it.")
    point_ref(session, adapter, name, version)
    _changed(session, user, "tag", adapter, ref=name, version=version.number, event="tag.moved")


def delete_ref(session: Session, adapter: Adapter, name: str, caller: Caller) -> None:
    """Remove a user tag (the versions stay); 'main' is refused like in move_ref. The event is a `tag.moved`
    whose version is null: the tag now points nowhere."""
    user = caller.require_role(adapter.namespace, Role.WRITE, "delete tags")
    if name == MAIN_REF:
        raise InvalidName("The 'main' tag always points at the latest version; it cannot be deleted.")
    ref = session.get(Ref, (adapter.id, name))
    if ref is None:
        raise RevisionNotFound(f"{adapter.namespace.name}/{adapter.name} has no tag {name[:80]!r}.")
    session.delete(ref)
    session.flush()  # the derived columns read the refs that are left
    _changed(session, user, "delete.tag", adapter, ref=name, version=None, event="tag.moved")


def set_visibility(session: Session, adapter: Adapter, private: bool, caller: Caller) -> None:
    user = caller.require_role(adapter.namespace, Role.WRITE, "change visibility")
    adapter.private = private
    _changed(session, user, "visibility", adapter, private=private, event="visibility.changed")


def delete_adapter(session: Session, adapter: Adapter, caller: Caller) -> None:
    user = caller.require_role(adapter.namespace, Role.OWNER, "delete adapters")
    now = utcnow()
    adapter.deleted_at = now
    for version in adapter.versions:
        version.deleted_at = version.deleted_at or now
    _changed(session, user, "delete.adapter", adapter, event="adapter.deleted")


def delete_version(session: Session, adapter: Adapter, version: Version, caller: Caller) -> None:
    """Hide one version; tags on it go away and `main` falls back to the newest live version (deleting the
    last live version deletes the adapter)."""
    user = caller.require_role(adapter.namespace, Role.OWNER, "delete versions")
    version.deleted_at = utcnow()
    for ref in list(session.scalars(select(Ref).where(Ref.version_id == version.id))):
        session.delete(ref)
    if not any(other.is_live for other in adapter.versions):
        adapter.deleted_at = version.deleted_at
    _changed(session, user, "delete.version", adapter, version=version.number, event="version.deleted")


def _changed(
    session: Session, user: User, action: str, adapter: Adapter, *, event: str, ref: str | None = None, **detail: Any
) -> None:
    """Every change here can alter what readers see: derived columns, audit row, webhook event, generation."""
    refresh_derived(session, adapter)
    record(session, user, action, subject(adapter.namespace.name, adapter.name, ref=ref), **detail)
    announce(session, event, adapter, user, tag=ref, **detail)
    bump_generation(session)
