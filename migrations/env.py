"""Alembic environment: the URL comes from the caller (hub.migrate), never from an ini file."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

import hub.models  # noqa: F401  (fills Base.metadata)
from hub.db import Base

config = context.config
target_metadata = Base.metadata
# Full-text objects made by raw SQL (0003, 0004, 0007): FTS5 and its shadow tables; PostgreSQL's GIN index
# and the stored tsvector column it indexes.
UNMODELLED_PREFIXES = ("adapters_fts", "ix_adapters_search_fts", "search_vector")


def _include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and compare_to is None and (name or "").startswith(UNMODELLED_PREFIXES))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        transaction_per_migration=True,
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `hub db upgrade` against a database")
run_migrations_online()
