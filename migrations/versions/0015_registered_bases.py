"""registered_bases: base models registered by their structure and sizes (config.json + safetensors headers).

One row per (model_id, revision); the weights are never stored. Nothing to backfill.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "registered_bases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.String(length=200), nullable=False),
        sa.Column("revision", sa.String(length=40), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("structure", JSON, nullable=False),
        sa.Column("model_type", sa.String(length=64), nullable=True),
        sa.Column("num_layers", sa.Integer(), nullable=True),
        sa.Column("hidden_size", sa.Integer(), nullable=True),
        sa.Column("vocab_size", sa.Integer(), nullable=True),
        sa.Column("total_parameters", sa.BigInteger(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=False),
        sa.Column("dtype", sa.String(length=32), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_registered_bases_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_bases")),
        sa.UniqueConstraint("model_id", "revision", name=op.f("uq_registered_bases_model_id_revision")),
    )
    with op.batch_alter_table("registered_bases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_registered_bases_model_id"), ["model_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_registered_bases_namespace_id"), ["namespace_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("registered_bases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registered_bases_namespace_id"))
        batch_op.drop_index(batch_op.f("ix_registered_bases_model_id"))
    op.drop_table("registered_bases")
