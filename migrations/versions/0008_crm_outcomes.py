"""crm outcomes: closed deals per contact, recorded outcomes, record signals and
per-account stage actions

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_deal_contacts",
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.String(length=32), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("outcome", sa.String(length=8), nullable=False),
        sa.Column("stage_id", sa.String(length=64), nullable=False),
        sa.Column(
            "closed_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_deal_contacts_account_pk_crm_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_pk", "deal_id", "contact_id", name=op.f("pk_crm_deal_contacts")
        ),
    )
    with op.batch_alter_table("crm_deal_contacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_deal_contacts_account_pk_contact_id",
            ["account_pk", "contact_id"],
            unique=False,
        )

    op.create_table(
        "crm_contact_outcomes",
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("at", app.models.base.UtcDateTime(timezone=True), nullable=False),
        sa.Column("deal_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_contact_outcomes_account_pk_crm_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_pk", "contact_id", name=op.f("pk_crm_contact_outcomes")
        ),
    )

    with op.batch_alter_table("crm_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("signals", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("crm_sync", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stage_actions", sa.JSON(), nullable=False, server_default="{}")
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_sync", schema=None) as batch_op:
        batch_op.drop_column("stage_actions")
    with op.batch_alter_table("crm_records", schema=None) as batch_op:
        batch_op.drop_column("signals")
    op.drop_table("crm_contact_outcomes")
    with op.batch_alter_table("crm_deal_contacts", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_deal_contacts_account_pk_contact_id")
    op.drop_table("crm_deal_contacts")
