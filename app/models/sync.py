"""What keeps CRM records scored: the inbox of CRM events (the source of truth for
work to do), the last inputs and written score of every record, and per-account
sync progress.

An event is stored once (unique per account and dedupe key) when the CRM delivers
it, and is done only once its effect is written; a crash leaves it pending, and the
next run applies it again without a second effect (writes equal to the stored
score are skipped).
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow

PENDING = "pending"
DONE = "done"
FAILED = "failed"


class CrmEvent(Base):
    """One CRM event, as received, until its effect is written."""

    __tablename__ = "crm_events"
    __table_args__ = (
        UniqueConstraint("account_pk", "dedupe_key"),
        Index("ix_crm_events_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_crm_events_account_pk_status", "account_pk", "status"),
    )

    # SQLite autoincrements only a column declared exactly INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    account_pk: Mapped[int] = mapped_column(
        ForeignKey("crm_accounts.id", ondelete="CASCADE")
    )
    # SHA-256 (hex) of what makes two deliveries the same event.
    dedupe_key: Mapped[str] = mapped_column(String(64))
    # e.g. contact.propertyChange, deal.associationChange.
    kind: Mapped[str] = mapped_column(String(48))
    # The record the event is about (None for association events: see payload).
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[str | None] = mapped_column(String(32), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    received_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(12), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class CrmRecord(Base):
    """A scored CRM record: the inputs it was last scored on (so it can be
    rescored without reading the CRM) and the score last written to it."""

    __tablename__ = "crm_records"

    account_pk: Mapped[int] = mapped_column(
        ForeignKey("crm_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    object_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # The lead fields the mapping produced (already bounded by the mapping).
    lead: Mapped[dict[str, Any]] = mapped_column(JSON)
    company_id: Mapped[str | None] = mapped_column(String(32), default=None)
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    label: Mapped[str | None] = mapped_column(String(16), default=None)
    top_factors: Mapped[str | None] = mapped_column(Text, default=None)
    explanation: Mapped[str | None] = mapped_column(Text, default=None)
    weights_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # Fingerprint of the weights and label bands it was scored with: when the
    # account's differ, its records are rescored.
    scored_with: Mapped[int | None] = mapped_column(Integer, default=None)
    # When the written score last changed (conturs_scored_at), and when the
    # inputs were last read from the CRM.
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), default=None)
    read_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Outcome signals the record has shown (app.crm.base.SIGNALS): one newly
    # shown becomes feedback once.
    signals: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")


class CrmSync(Base):
    """Per-account sync state: backfill progress, API health, mapping overrides."""

    __tablename__ = "crm_sync"

    account_pk: Mapped[int] = mapped_column(
        ForeignKey("crm_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    backfill_cursor: Mapped[str | None] = mapped_column(String(256), default=None)
    backfill_done: Mapped[int] = mapped_column(Integer, default=0)
    backfill_total: Mapped[int | None] = mapped_column(Integer, default=None)
    backfill_started_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    backfill_finished_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    # Until when a run holds the walk (renewed per page): runs queued meanwhile
    # leave it to that one instead of reading and writing its pages again.
    walk_lease_until: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    api_calls: Mapped[int] = mapped_column(BigInteger, default=0)
    api_failures: Mapped[int] = mapped_column(BigInteger, default=0)
    # Lead field -> CRM property, replacing the default mapping's choice.
    mapping: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    last_rescored_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime(), default=None
    )
    # Deal stage id -> converted | ignored | none, replacing the stage's own
    # won / lost / open meaning for outcomes.
    stage_actions: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default="{}"
    )
