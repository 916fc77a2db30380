"""The audit log: who published, tagged, deleted or changed what, and when.

A neutral module (accounts and registry both write here, neither imports the other for it). Every row is
made by `record()`, so subjects have one format: `ns`, `ns/name`, `ns/name@v3`, `ns/name:tag` or `ns/member`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.accounts.models import User
from hub.db import Base
from hub.timeutil import isoformat, utcnow


class AuditEvent(Base):
    """Who published, tagged or deleted what, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


def record(session: Session, actor: User | None, action: str, subject: str, **detail: Any) -> None:
    """One audit row; `actor` None is the administrator at the server's console."""
    session.add(AuditEvent(actor_id=actor.id if actor else None, action=action, subject=subject, detail=detail))


def subject(namespace: str, name: str | None = None, *, version: int | None = None, ref: str | None = None) -> str:
    text = namespace if name is None else f"{namespace}/{name}"
    if version is not None:
        text += f"@v{version}"
    if ref is not None:
        text += f":{ref}"
    return text


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
