"""Deal outcomes as the feedback ledger sees them: the closed deals of each CRM
contact as last read, and the outcome currently recorded as feedback for it.

Comparing the two after every deal change is what lets an outcome be recorded
once, replaced when a later deal decides otherwise, and withdrawn when the deal
reopens, however often and in whatever order the CRM reports the change.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, UtcDateTime, utcnow

WON = "won"
LOST = "lost"


class CrmDealContact(Base):
    """One closed deal of one contact (open or removed deals have no row)."""

    __tablename__ = "crm_deal_contacts"
    __table_args__ = (
        # "Every closed deal of these contacts" for the per-contact decision.
        Index("ix_crm_deal_contacts_account_pk_contact_id", "account_pk", "contact_id"),
    )

    account_pk: Mapped[int] = mapped_column(
        ForeignKey("crm_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # CRM ids as the CRM issues them (HubSpot's are 64-bit).
    deal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contact_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(8))  # won | lost
    stage_id: Mapped[str] = mapped_column(String(64))
    # When the deal closed, as best known: its close date or, earlier, the first
    # change that reported it.
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class CrmContactOutcome(Base):
    """The deal outcome currently recorded as feedback for a contact."""

    __tablename__ = "crm_contact_outcomes"

    account_pk: Mapped[int] = mapped_column(
        ForeignKey("crm_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    contact_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    action: Mapped[str] = mapped_column(String(16))  # converted | ignored
    # The outcome's moment: the feedback carries the factor values of then.
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    deal_id: Mapped[str] = mapped_column(String(32))
