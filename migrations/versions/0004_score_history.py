"""score history, snapshot scores, and the sealed credential of outbox messages

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:49:44.528880
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "score_history",
        # SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY;
        # PostgreSQL gets BIGSERIAL.
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("lead_key", sa.String(length=64), nullable=False),
        sa.Column("factor_values", sa.JSON(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("weights_version", sa.Integer(), nullable=True),
        sa.Column(
            "scored_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_history")),
    )
    with op.batch_alter_table("score_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_score_history_client_id_lead_key_scored_at",
            ["client_id", "lead_key", "scored_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_score_history_scored_at"), ["scored_at"], unique=False
        )

    # Existing snapshots keep NULL scores and count as changed on their next score.
    with op.batch_alter_table("lead_snapshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("label", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("weights_version", sa.Integer(), nullable=True))

    with op.batch_alter_table("feedback_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feedback_outbox", schema=None) as batch_op:
        batch_op.drop_column("credential")

    with op.batch_alter_table("lead_snapshots", schema=None) as batch_op:
        batch_op.drop_column("weights_version")
        batch_op.drop_column("label")
        batch_op.drop_column("score")

    with op.batch_alter_table("score_history", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_score_history_scored_at"))
        batch_op.drop_index("ix_score_history_client_id_lead_key_scored_at")

    op.drop_table("score_history")
