"""The catalogue generation: bumped in the same transaction as every change search can see."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.registry.models import CatalogueState

STATE_ID = 1


def bump(session: Session) -> None:
    """Call last in a transaction: the row lock (PostgreSQL) is then held only until the commit."""
    changed = session.execute(
        update(CatalogueState).where(CatalogueState.id == STATE_ID).values(generation=CatalogueState.generation + 1)
    )
    if not changed.rowcount:  # a database emptied by hand (tests truncate tables): start again
        session.add(CatalogueState(id=STATE_ID, generation=1))


def current(session: Session) -> int | None:
    return session.scalar(select(CatalogueState.generation).where(CatalogueState.id == STATE_ID))
