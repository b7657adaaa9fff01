"""Installed CRM accounts (a HubSpot portal, a Uspacy portal) and the install
states already used.

Each account is one client of the Config API, so its outcomes teach its own
weights and its similar clients'. Tokens are stored sealed (app/crypto.py): a
copy of the database without TOKEN_ENCRYPTION_KEYS holds no usable token.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow

INSTALLED = "installed"
UNINSTALLED = "uninstalled"
# The CRM refused to refresh the tokens while the app stays installed there (a
# Uspacy refresh answered 401/403): no call until the portal installs it again.
NEEDS_REINSTALL = "needs_reinstall"


class CrmAccount(Base):
    """One installed CRM account: its status, tokens, scopes and client."""

    __tablename__ = "crm_accounts"
    __table_args__ = (UniqueConstraint("crm", "account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    crm: Mapped[str] = mapped_column(String(16))
    # HubSpot: the hub id; Uspacy: the portal domain.
    account_id: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default=INSTALLED)
    # Granted scopes, space-separated and sorted.
    scopes: Mapped[str] = mapped_column(Text, default="")
    access_token: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    refresh_token: Mapped[str | None] = mapped_column(Text, default=None)  # sealed
    token_expires_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    # Bumped on every token change, so waiters can tell a refresh happened.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    # A process refreshing the tokens holds this lease; others wait for it.
    refresh_lease: Mapped[str | None] = mapped_column(String(32), default=None)
    refresh_lease_until: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    installed_by: Mapped[str | None] = mapped_column(String(320), default=None)
    installed_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    uninstalled_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None, index=True
    )
    last_checked_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # Where the CRM has no app-wide webhook URL (Uspacy), each account has its
    # own, with this secret in it: sealed, and its SHA-256 (hex) to find it by.
    webhook_key: Mapped[str | None] = mapped_column(Text, default=None)
    webhook_key_hash: Mapped[str | None] = mapped_column(
        String(64), default=None, unique=True, index=True
    )
    # registered | confirmed | needs_admin (the CRM let only its admin add it).
    webhook_status: Mapped[str | None] = mapped_column(String(16), default=None)
    # The CRM user the app acts as (Uspacy: the app's bot user): changes it
    # made are our own writes coming back, not work.
    app_user_id: Mapped[str | None] = mapped_column(String(32), default=None)
    # Our fields' codes per object type, as the CRM returned them.
    field_codes: Mapped[dict[str, dict[str, str]] | None] = mapped_column(
        JSON, default=None
    )

    @property
    def scope_set(self) -> frozenset[str]:
        """The granted scopes as a set."""
        return frozenset(self.scopes.split())


class UsedInstallState(Base):
    """The nonce of an install `state` that came back once: it never works again."""

    __tablename__ = "used_install_states"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    used_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
