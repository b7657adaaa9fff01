"""State of a scoring service that gets its weights from a remote Config API:
the weights it last fetched per client, and feedback waiting to be delivered."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow


class CachedConfig(Base):
    """The last configuration the Config API returned for an API key."""

    __tablename__ = "cached_configs"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(40))
    email: Mapped[str] = mapped_column(String(320))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    fetched_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class OutboxMessage(Base):
    """Feedback accepted locally and not yet delivered to the Config API."""

    __tablename__ = "feedback_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(
        UtcDateTime(), default=utcnow, index=True
    )
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    # The API key the message is delivered with, sealed (encrypted) so a copy of
    # the database does not hand out usable keys. NULL on older messages.
    credential: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
