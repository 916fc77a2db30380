"""merge_sources: the reverse index of Version.lineage, one row per source of a merged version.

"Merges made from adapter X" then reads one index instead of every version's lineage JSON. The upgrade fills
it from the lineage already stored: each entry's revision names the source version (revisions are unique),
whose adapter is the source adapter. An entry whose revision no longer exists (purged by `hub gc`) gets no
row, as it could not be shown anyway. The JSON is read in Python, the same on SQLite and PostgreSQL.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONS = sa.table(
    "versions", sa.column("id", sa.Integer), sa.column("adapter_id", sa.Integer), sa.column("revision", sa.String),
    sa.column("lineage", sa.JSON),
)  # fmt: skip


def upgrade() -> None:
    merge_sources = op.create_table(
        "merge_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("merged_version_id", sa.Integer(), nullable=False),
        sa.Column("source_adapter_id", sa.Integer(), nullable=False),
        sa.Column("source_revision", sa.String(length=40), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merged_version_id"],
            ["versions.id"],
            name=op.f("fk_merge_sources_merged_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_adapter_id"],
            ["adapters.id"],
            name=op.f("fk_merge_sources_source_adapter_id_adapters"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merge_sources")),
    )
    with op.batch_alter_table("merge_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_merge_sources_merged_version_id"), ["merged_version_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_merge_sources_source_adapter_id"), ["source_adapter_id"], unique=False)
    rows = _backfill_rows(op.get_bind())
    if rows:
        op.bulk_insert(merge_sources, rows)


def _backfill_rows(connection: sa.Connection) -> list[dict[str, Any]]:
    """One row per lineage entry of every merged version whose source revision is still stored."""
    merged = connection.execute(sa.select(VERSIONS.c.id, VERSIONS.c.lineage).where(VERSIONS.c.lineage.is_not(None)))
    entries = [(version_id, entry) for version_id, lineage in merged for entry in lineage or []]
    revisions = {str(entry.get("revision")) for _, entry in entries}
    owners = dict(
        connection.execute(
            sa.select(VERSIONS.c.revision, VERSIONS.c.adapter_id).where(VERSIONS.c.revision.in_(revisions))
        ).all()
    )
    return [
        {
            "merged_version_id": version_id,
            "source_adapter_id": owners[str(entry["revision"])],
            "source_revision": str(entry["revision"]),
            "weight": float(entry.get("weight") or 0.0),
        }
        for version_id, entry in entries
        if str(entry.get("revision")) in owners
    ]


def downgrade() -> None:
    with op.batch_alter_table("merge_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_merge_sources_source_adapter_id"))
        batch_op.drop_index(batch_op.f("ix_merge_sources_merged_version_id"))
    op.drop_table("merge_sources")
