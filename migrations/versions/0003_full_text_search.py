"""Full-text search indexes: SQLite FTS5 (external content, kept in sync by triggers), PostgreSQL GIN.

They live outside the SQLAlchemy models (neither is expressible portably), so migrations/env.py
tells autogenerate to leave them alone; hub/registry/search/fulltext.py is the code that queries them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE adapters_fts USING fts5("
    "search_text, content='adapters', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER adapters_fts_insert AFTER INSERT ON adapters BEGIN "
    "INSERT INTO adapters_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER adapters_fts_delete AFTER DELETE ON adapters BEGIN "
    "INSERT INTO adapters_fts(adapters_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER adapters_fts_update AFTER UPDATE OF search_text ON adapters BEGIN "
    "INSERT INTO adapters_fts(adapters_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO adapters_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "INSERT INTO adapters_fts(adapters_fts) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS adapters_fts_update",
    "DROP TRIGGER IF EXISTS adapters_fts_delete",
    "DROP TRIGGER IF EXISTS adapters_fts_insert",
    "DROP TABLE IF EXISTS adapters_fts",
]
# 'simple': no stemming or stop words, so names like "sst2" and "lora" match as typed.
POSTGRES_UP = [
    "CREATE INDEX ix_adapters_search_fts ON adapters USING gin (to_tsvector('simple', search_text))",
]
POSTGRES_DOWN = ["DROP INDEX IF EXISTS ix_adapters_search_fts"]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
