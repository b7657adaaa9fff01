"""Clients of the scoring API and their API keys (stored only as hashes)."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, UtcDateTime, utcnow


class Client(Base):
    """An account that scores leads: registered by email, optionally pinned weights."""

    __tablename__ = "clients"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Weights fixed by the operator (method "custom"); never replaced by learning.
    pinned_weights: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    # Label thresholds fixed by the operator ({"hot", "warm", "cool"}); they win
    # over the bands learned with each personalised weight version.
    pinned_bands: Mapped[dict[str, Any] | None] = mapped_column(
        JSON(none_as_null=True), default=None
    )
    # What the account stated: industry, company_size, country, icp_industries,
    # icp_company_sizes, as given (normalised on use by the personalization layer).
    stated_profile: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
    vertical: Mapped[str | None] = mapped_column(String(48), default=None, index=True)

    api_keys: Mapped[list["ApiKey"]] = relationship(back_populates="client")


class ApiKey(Base):
    """An API key. Keys are random 256-bit secrets, so a SHA-256 digest suffices."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, shown in settings so users can tell keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)

    client: Mapped[Client] = relationship(back_populates="api_keys")
