"""Adapter.current_number (the newest live version, kept by hub/registry/catalog/derived.py) and
Token.parent_id (the token a web session was made from, which ends it when revoked).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_number", sa.Integer(), nullable=True))
    # Backfill: until now `latest_number` (the last number issued) stood in for it, wrongly after a deletion.
    op.execute(
        "UPDATE adapters SET current_number = (SELECT max(number) FROM versions"
        " WHERE versions.adapter_id = adapters.id AND versions.deleted_at IS NULL)"
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("parent_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tokens_parent_id"), ["parent_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tokens_parent_id_tokens"), "tokens", ["parent_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tokens_parent_id_tokens"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tokens_parent_id"))
        batch_op.drop_column("parent_id")
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_column("current_number")
