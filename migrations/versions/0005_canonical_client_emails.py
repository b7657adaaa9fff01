"""client emails in their canonical form

Stored emails were only trimmed and lower-cased, so look-alike spellings of one
mailbox (a trailing dot, full-width letters, a Unicode domain) could be separate
accounts. Each is rewritten to the form the app now looks clients up by: NFKC, lower
case, the domain as IDNA A-labels without a trailing dot.

No account is lost: when the canonical form is taken (by an address already in that
form, or by an older account rewritten first) the row keeps its email unchanged and
is logged, and so is an email that has no canonical form. Such a client still works
with its key, and names itself to POST /config by its client id.

The normalisation is copied here, not imported, so this migration keeps doing what
it did when it was written.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 10:00:00
"""

import logging
import unicodedata
from collections.abc import Sequence

import idna
import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("conturs.migrations")


def _canonical(email: str) -> str | None:
    """The canonical form as of this revision, or None when there is none."""
    text = unicodedata.normalize("NFKC", email.strip())
    if any(unicodedata.category(char)[0] in "CZ" for char in text):
        return None  # invisible, control or space characters: not an address
    if text.count("@") != 1:
        return None
    local, domain = text.split("@")
    local = unicodedata.normalize("NFKC", local.lower())
    domain = domain[:-1] if domain.endswith(".") else domain
    if not local or not domain:
        return None
    try:
        domain = idna.encode(domain, uts46=True).decode("ascii")
    except UnicodeError:
        return None
    return f"{local}@{domain}"


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, email FROM clients ORDER BY created_at, id")
    ).all()
    # Forms already stored stay where they are; older accounts win the rest.
    taken = {email for _, email in rows if _canonical(email) == email}
    for client_id, email in rows:
        canonical = _canonical(email)
        if canonical == email:
            continue
        if canonical is None:
            log.warning(
                "client %s: email %r has no canonical form; left unchanged",
                client_id,
                email,
            )
            continue
        if canonical in taken:
            log.warning(
                "client %s: email %r is %r, which another client has; left unchanged",
                client_id,
                email,
                canonical,
            )
            continue
        connection.execute(
            sa.text("UPDATE clients SET email = :email WHERE id = :id"),
            {"email": canonical, "id": client_id},
        )
        taken.add(canonical)


def downgrade() -> None:
    # The canonical form names the same mailboxes; the former spellings are gone.
    pass
