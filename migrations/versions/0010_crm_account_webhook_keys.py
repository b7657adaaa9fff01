"""crm_accounts: per-account webhook key, webhook status and field codes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webhook_key", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("webhook_key_hash", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("webhook_status", sa.String(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("field_codes", sa.JSON(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_crm_accounts_webhook_key_hash"),
            ["webhook_key_hash"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_accounts_webhook_key_hash"))
        batch_op.drop_column("field_codes")
        batch_op.drop_column("webhook_status")
        batch_op.drop_column("webhook_key_hash")
        batch_op.drop_column("webhook_key")
