"""What the Config API learns from: client profiles, factor snapshots and their
history, feedback, and the published weight versions. Leads appear only as keyed
hashes, never in clear."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow


class LeadSnapshot(Base):
    """The ten factor values of a lead when it was last scored for a client."""

    __tablename__ = "lead_snapshots"

    # No foreign key: a scoring service in remote mode records snapshots for
    # clients that live in the central Config API's database.
    client_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    lead_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    factor_values: Mapped[list[float]] = mapped_column(JSON)
    # Kept beside the values so a re-score can tell "unchanged" without reading
    # history; rows written before score history existed have NULLs here.
    score: Mapped[int | None] = mapped_column(Integer, default=None)
    label: Mapped[str | None] = mapped_column(String(32), default=None)
    weights_version: Mapped[int | None] = mapped_column(Integer, default=None)
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ScoreHistory(Base):
    """What a lead's factor values and score were from `scored_at` until the next
    row: appended only when they change, so an outcome can be matched with the
    values the lead had before it."""

    __tablename__ = "score_history"
    __table_args__ = (
        # "The last row of this lead at or before t" is one backward index scan.
        Index(
            "ix_score_history_client_id_lead_key_scored_at",
            "client_id",
            "lead_key",
            "scored_at",
        ),
    )

    # SQLite only autoincrements a column declared exactly INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True
    )
    # No foreign key, as on LeadSnapshot: the client may live in another database.
    client_id: Mapped[str] = mapped_column(String(40))
    lead_key: Mapped[str] = mapped_column(String(64))
    factor_values: Mapped[list[float]] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(32))
    weights_version: Mapped[int | None] = mapped_column(Integer, default=None)
    # Indexed on its own for pruning by age across all clients.
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class Feedback(Base):
    """One outcome of one lead; a (client, lead, action) counts once."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("client_id", "lead_key", "action"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    lead_key: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    reward: Mapped[float] = mapped_column(Float)
    factor_values: Mapped[list[float]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WeightVersion(Base):
    """A published weight set of a client, with where it came from and how good."""

    __tablename__ = "weight_versions"
    __table_args__ = (UniqueConstraint("client_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(32))
    weights: Mapped[dict[str, float]] = mapped_column(JSON)
    personalised: Mapped[bool] = mapped_column(default=False)
    n_outcomes: Mapped[int] = mapped_column(Integer, default=0)
    holdout_auc: Mapped[float | None] = mapped_column(Float, default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
