"""Covering indexes for facet counts; the catalogue generation number that invalidates cached counts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalogue_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_state")),
    )
    op.execute("INSERT INTO catalogue_state (id, generation) VALUES (1, 0)")
    with op.batch_alter_table("adapter_tags", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adapter_tags_tag"))
        batch_op.create_index("ix_adapter_tags_tag_adapter", ["tag", "adapter_id"], unique=False)

    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_adapters_base_model"))
        batch_op.drop_index(batch_op.f("ix_adapters_base_model_type"))
        batch_op.drop_index(batch_op.f("ix_adapters_library"))
        batch_op.drop_index(batch_op.f("ix_adapters_license"))
        batch_op.drop_index(batch_op.f("ix_adapters_method"))
        batch_op.drop_index(batch_op.f("ix_adapters_task"))
        batch_op.create_index("ix_adapters_facet_base_model", ["base_model", "private", "deleted_at"], unique=False)
        batch_op.create_index(
            "ix_adapters_facet_base_model_type", ["base_model_type", "private", "deleted_at"], unique=False
        )
        batch_op.create_index("ix_adapters_facet_library", ["library", "private", "deleted_at"], unique=False)
        batch_op.create_index("ix_adapters_facet_license", ["license", "private", "deleted_at"], unique=False)
        batch_op.create_index("ix_adapters_facet_method", ["method", "private", "deleted_at"], unique=False)
        batch_op.create_index("ix_adapters_facet_task", ["task", "private", "deleted_at"], unique=False)
        batch_op.create_index("ix_adapters_visible", ["private", "deleted_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("adapters", schema=None) as batch_op:
        batch_op.drop_index("ix_adapters_visible")
        batch_op.drop_index("ix_adapters_facet_task")
        batch_op.drop_index("ix_adapters_facet_method")
        batch_op.drop_index("ix_adapters_facet_license")
        batch_op.drop_index("ix_adapters_facet_library")
        batch_op.drop_index("ix_adapters_facet_base_model_type")
        batch_op.drop_index("ix_adapters_facet_base_model")
        batch_op.create_index(batch_op.f("ix_adapters_task"), ["task"], unique=False)
        batch_op.create_index(batch_op.f("ix_adapters_method"), ["method"], unique=False)
        batch_op.create_index(batch_op.f("ix_adapters_license"), ["license"], unique=False)
        batch_op.create_index(batch_op.f("ix_adapters_library"), ["library"], unique=False)
        batch_op.create_index(batch_op.f("ix_adapters_base_model_type"), ["base_model_type"], unique=False)
        batch_op.create_index(batch_op.f("ix_adapters_base_model"), ["base_model"], unique=False)

    with op.batch_alter_table("adapter_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_adapter_tags_tag_adapter")
        batch_op.create_index(batch_op.f("ix_adapter_tags_tag"), ["tag"], unique=False)

    op.drop_table("catalogue_state")
