"""The catalogue generation: the neutral "catalogue changed" hook.

Every change to what a reader can see (a publish, a deletion, a visibility change, a tag move, a change of
who belongs to which organisation) calls `bump()` in its own transaction, so each hub process may cache
answers keyed by the generation and know, with one primary-key read, when they went stale.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.db import Base

STATE_ID = 1


class CatalogueState(Base):
    """One row holding the generation number."""

    __tablename__ = "catalogue_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    generation: Mapped[int] = mapped_column(BigInteger, default=0)


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
