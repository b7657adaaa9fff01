"""crm_sync: the lease of the run walking an account's records

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 18:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crm_sync", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "walk_lease_until",
                app.models.base.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_sync", schema=None) as batch_op:
        batch_op.drop_column("walk_lease_until")
