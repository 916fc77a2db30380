"""The catalogue generation: bumped in the same transaction as every change search can see."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hub.registry.models import CatalogueState

STATE_ID = 1


def bump(session: Session) -> None:
    """Call last in a transaction: the row lock (PostgreSQL) is then held only until the commit.

    An upsert, so a database whose row is gone (emptied by hand) gets it back without a race.
    """
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(CatalogueState).values(id=STATE_ID, generation=1)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[CatalogueState.id], set_={"generation": CatalogueState.generation + 1}
        )
    )


def current(session: Session) -> int | None:
    return session.scalar(select(CatalogueState.generation).where(CatalogueState.id == STATE_ID))
