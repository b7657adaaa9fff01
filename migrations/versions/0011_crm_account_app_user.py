"""crm_accounts: the CRM user the app acts as (its changes are our own)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("app_user_id", sa.String(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.drop_column("app_user_id")
