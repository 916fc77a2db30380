"""Signed adapters: signer keys per namespace, the signing policy, and each signed version's verified signature.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_policies",
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("require_signatures", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["namespace_id"],
            ["namespaces.id"],
            name=op.f("fk_signing_policies_namespace_id_namespaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("namespace_id", name=op.f("pk_signing_policies")),
    )
    op.create_table(
        "signer_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=True),
        sa.Column("ca_certificate", sa.Text(), nullable=True),
        sa.Column("identity", sa.String(length=320), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_signer_keys_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["namespace_id"], ["namespaces.id"], name=op.f("fk_signer_keys_namespace_id_namespaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signer_keys")),
        sa.UniqueConstraint("namespace_id", "key_id", name=op.f("uq_signer_keys_namespace_id_key_id")),
    )
    with op.batch_alter_table("signer_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signer_keys_namespace_id"), ["namespace_id"], unique=False)

    op.create_table(
        "version_signatures",
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("signer_id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["signer_id"],
            ["signer_keys.id"],
            name=op.f("fk_version_signatures_signer_id_signer_keys"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"], ["versions.id"], name=op.f("fk_version_signatures_version_id_versions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_version_signatures")),
    )
    with op.batch_alter_table("version_signatures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_version_signatures_signer_id"), ["signer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("version_signatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_version_signatures_signer_id"))

    op.drop_table("version_signatures")
    with op.batch_alter_table("signer_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signer_keys_namespace_id"))

    op.drop_table("signer_keys")
    op.drop_table("signing_policies")
