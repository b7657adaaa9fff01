"""crm inbox, records and sync state

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:15:55.943131
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=32), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column(
            "occurred_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "received_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at",
            app.models.base.UtcDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_events_account_pk_crm_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_events")),
        sa.UniqueConstraint(
            "account_pk", "dedupe_key", name=op.f("uq_crm_events_account_pk")
        ),
    )
    with op.batch_alter_table("crm_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_crm_events_account_pk_status", ["account_pk", "status"], unique=False
        )
        batch_op.create_index(
            "ix_crm_events_status_next_attempt_at",
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "crm_records",
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=32), nullable=False),
        sa.Column("lead", sa.JSON(), nullable=False),
        sa.Column("company_id", sa.String(length=32), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("label", sa.String(length=16), nullable=True),
        sa.Column("top_factors", sa.Text(), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("weights_version", sa.Integer(), nullable=True),
        sa.Column("scored_with", sa.Integer(), nullable=True),
        sa.Column(
            "scored_at", app.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "read_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_records_account_pk_crm_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "account_pk", "object_type", "record_id", name=op.f("pk_crm_records")
        ),
    )
    op.create_table(
        "crm_sync",
        sa.Column("account_pk", sa.Integer(), nullable=False),
        sa.Column("backfill_cursor", sa.String(length=256), nullable=True),
        sa.Column("backfill_done", sa.Integer(), nullable=False),
        sa.Column("backfill_total", sa.Integer(), nullable=True),
        sa.Column(
            "backfill_started_at",
            app.models.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "backfill_finished_at",
            app.models.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("api_calls", sa.BigInteger(), nullable=False),
        sa.Column("api_failures", sa.BigInteger(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column(
            "last_rescored_at",
            app.models.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["account_pk"],
            ["crm_accounts.id"],
            name=op.f("fk_crm_sync_account_pk_crm_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_pk", name=op.f("pk_crm_sync")),
    )


def downgrade() -> None:
    op.drop_table("crm_sync")
    op.drop_table("crm_records")
    with op.batch_alter_table("crm_events", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_events_status_next_attempt_at")
        batch_op.drop_index("ix_crm_events_account_pk_status")

    op.drop_table("crm_events")
