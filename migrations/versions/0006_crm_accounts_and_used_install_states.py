"""crm accounts and used install states

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:01:27.001145
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "used_install_states",
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column(
            "used_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_used_install_states")),
    )
    with op.batch_alter_table("used_install_states", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_used_install_states_used_at"), ["used_at"], unique=False
        )

    op.create_table(
        "crm_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("crm", sa.String(length=16), nullable=False),
        sa.Column("account_id", sa.String(length=255), nullable=False),
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column(
            "token_expires_at",
            app.models.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("token_version", sa.Integer(), nullable=False),
        sa.Column("refresh_lease", sa.String(length=32), nullable=True),
        sa.Column(
            "refresh_lease_until",
            app.models.base.UtcDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("installed_by", sa.String(length=320), nullable=True),
        sa.Column(
            "installed_at", app.models.base.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "uninstalled_at", app.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_checked_at", app.models.base.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_crm_accounts_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_accounts")),
        sa.UniqueConstraint("crm", "account_id", name=op.f("uq_crm_accounts_crm")),
    )
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crm_accounts_client_id"), ["client_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_crm_accounts_uninstalled_at"),
            ["uninstalled_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("crm_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crm_accounts_uninstalled_at"))
        batch_op.drop_index(batch_op.f("ix_crm_accounts_client_id"))

    op.drop_table("crm_accounts")
    with op.batch_alter_table("used_install_states", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_install_states_used_at"))

    op.drop_table("used_install_states")
