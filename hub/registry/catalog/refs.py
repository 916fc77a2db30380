"""Movable tags on versions ("main", "stable"...): the one writer of Ref rows."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.registry.models import Adapter, Ref, Version
from hub.timeutil import utcnow

MAIN_REF = "main"  # always the newest live version; moved only by hub/registry/catalog/derived.py


def point_ref(session: Session, adapter: Adapter, name: str, version: Version) -> None:
    ref = session.get(Ref, (adapter.id, name))
    if ref is None:
        session.add(Ref(adapter_id=adapter.id, name=name, version_id=version.id))
    else:
        ref.version_id, ref.updated_at = version.id, utcnow()
