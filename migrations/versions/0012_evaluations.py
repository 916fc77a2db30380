"""Evaluation results: one row per score a version's model card or .eval_results files state.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("task", sa.String(length=64), nullable=False),
        sa.Column("dataset_id", sa.String(length=200), nullable=False),
        sa.Column("dataset_name", sa.String(length=200), nullable=True),
        sa.Column("dataset_config", sa.String(length=200), nullable=True),
        sa.Column("dataset_split", sa.String(length=200), nullable=True),
        sa.Column("dataset_revision", sa.String(length=200), nullable=True),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("metric_name", sa.String(length=200), nullable=True),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source_name", sa.String(length=200), nullable=True),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("baseline", sa.Boolean(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_evaluations_version_id_versions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evaluations_task_metric", ["task", "metric", "baseline", "version_id", "value"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evaluations_version_id"), ["version_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evaluations_version_id"))
        batch_op.drop_index("ix_evaluations_task_metric")
    op.drop_table("evaluations")
