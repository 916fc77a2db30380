"""Reading the audit log (writes happen where the actions happen)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.registry.models import AuditEvent
from hub.timeutil import isoformat


def recent_events(session: Session, limit: int) -> list[dict[str, Any]]:
    query = (
        select(AuditEvent, User.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        {
            "at": isoformat(event.created_at),
            "actor": actor,
            "action": event.action,
            "subject": event.subject,
            "detail": event.detail,
        }
        for event, actor in session.execute(query)
    ]
