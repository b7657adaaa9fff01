"""Store absent pinned weights as SQL NULL, not JSON null

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 09:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Clients created before none_as_null stored the JSON literal null, which
    # `IS NULL` does not match.
    op.execute(
        "UPDATE clients SET pinned_weights = NULL "
        "WHERE CAST(pinned_weights AS TEXT) = 'null'"
    )


def downgrade() -> None:
    pass  # SQL NULL reads back exactly as JSON null did
