"""Move the model card and the search document out of `adapters` into `adapter_texts`.

Facet counts and filtered scans read every matching adapters row; with the texts inline each row
was ~1 KB and a 100k-adapter scan read ~100 MB of pages. The full-text indexes move with the text.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FTS_TRIGGERS = {
    "insert": "AFTER INSERT ON {t} BEGIN INSERT INTO adapters_fts(rowid, search_text) "
    "VALUES (new.{k}, new.search_text); END",
    "delete": "AFTER DELETE ON {t} BEGIN INSERT INTO adapters_fts(adapters_fts, rowid, search_text) "
    "VALUES ('delete', old.{k}, old.search_text); END",
    "update": "AFTER UPDATE OF search_text ON {t} BEGIN INSERT INTO adapters_fts(adapters_fts, rowid, search_text) "
    "VALUES ('delete', old.{k}, old.search_text); INSERT INTO adapters_fts(rowid, search_text) "
    "VALUES (new.{k}, new.search_text); END",
}


def _drop_sqlite_fts() -> None:
    for name in FTS_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS adapters_fts_{name}")
    op.execute("DROP TABLE IF EXISTS adapters_fts")


def _create_sqlite_fts(table: str, key: str) -> None:
    op.execute(
        "CREATE VIRTUAL TABLE adapters_fts USING fts5(search_text, "
        f"content='{table}', content_rowid='{key}', tokenize='unicode61 remove_diacritics 2')"
    )
    for name, body in FTS_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER adapters_fts_{name} " + body.format(t=table, k=key))
    op.execute("INSERT INTO adapters_fts(adapters_fts) VALUES ('rebuild')")


def _gin(table: str) -> None:
    op.execute(f"CREATE INDEX ix_adapters_search_fts ON {table} USING gin (to_tsvector('simple', search_text))")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_sqlite_fts()
    else:
        op.execute("DROP INDEX IF EXISTS ix_adapters_search_fts")
    op.create_table(
        "adapter_texts",
        sa.Column("adapter_id", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["adapter_id"], ["adapters.id"], name=op.f("fk_adapter_texts_adapter_id_adapters"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("adapter_id", name=op.f("pk_adapter_texts")),
    )
    op.execute(
        "INSERT INTO adapter_texts (adapter_id, description, search_text) "
        "SELECT id, description, search_text FROM adapters"
    )
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_column("search_text")
        batch_op.drop_column("description")
    if sqlite:
        _create_sqlite_fts("adapter_texts", "adapter_id")
    else:
        _gin("adapter_texts")


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _drop_sqlite_fts()
    else:
        op.execute("DROP INDEX IF EXISTS ix_adapters_search_fts")
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description", sa.Text(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    op.execute(
        "UPDATE adapters SET description = (SELECT description FROM adapter_texts WHERE adapter_id = adapters.id), "
        "search_text = (SELECT search_text FROM adapter_texts WHERE adapter_id = adapters.id) "
        "WHERE id IN (SELECT adapter_id FROM adapter_texts)"
    )
    op.drop_table("adapter_texts")
    if sqlite:
        _create_sqlite_fts("adapters", "id")
    else:
        _gin("adapters")
