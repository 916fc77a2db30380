"""upload_blobs: which blobs each upload sent, so a commit may use only those or blobs its caller can read.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A new table, so open uploads need no backfill: their blobs received before the upgrade must be sent again.
    op.create_table(
        "upload_blobs",
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["sha256"], ["blobs.sha256"], name=op.f("fk_upload_blobs_sha256_blobs"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["upload_id"], ["uploads.id"], name=op.f("fk_upload_blobs_upload_id_uploads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("upload_id", "sha256", name=op.f("pk_upload_blobs")),
    )
    with op.batch_alter_table("upload_blobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upload_blobs_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("upload_blobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upload_blobs_sha256"))
    op.drop_table("upload_blobs")
