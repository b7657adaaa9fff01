"""What the Config API learns from: client profiles, factor snapshots, feedback, and
the published weight versions. Leads appear only as keyed hashes, never in clear."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
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
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


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
