"""Where CRM outcomes are kept: the closed deals of each contact, the outcome
recorded as feedback for it, and the signals each record has shown. These
functions take the caller's session and never commit (the caller owns the
transaction), except `record_new_signals`, which only reads and hands outcomes
to the feedback recorder.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from app.crm.base import SIGNALS, CrmContact, RecordRef
from app.models import Client
from app.models.crm import CrmAccount as AccountRow
from app.models.outcomes import CrmContactOutcome, CrmDealContact
from app.models.sync import CrmEvent, CrmRecord, CrmSync
from app.services.crm.outcome_rules import CHUNK, ClosedDeal, action_for
from app.services.errors import DomainError, Unavailable
from app.services.learning.feedback import FeedbackRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LedgerAccount:
    """What deciding an account's outcomes needs to know of it."""

    client_id: str
    crm: str
    account_id: str
    since: datetime  # the first install: deals closed before are not ours
    stage_actions: dict[str, str]


def ledger_account(session: Session, account_pk: int) -> LedgerAccount:
    """The account as the ledger sees it; LookupError when it is gone."""
    account = session.get(AccountRow, account_pk)
    if account is None:
        raise LookupError(f"no CRM account {account_pk}")
    since = account.installed_at
    # A reinstall moves installed_at; the client dates the first install.
    client = session.get(Client, account.client_id)
    if client is not None and client.created_at < since:
        since = client.created_at
    state = session.get(CrmSync, account_pk)
    return LedgerAccount(
        account.client_id,
        account.crm,
        account.account_id,
        since,
        dict(state.stage_actions or {}) if state else {},
    )


# -- closed deals and recorded outcomes -------------------------------------------


def deal_rows(
    session: Session, account_pk: int, deal_ids: Sequence[str]
) -> list[ClosedDeal]:
    """The stored closed-deal rows of these deals."""
    return _rows(session, account_pk, CrmDealContact.deal_id, deal_ids)


def contact_rows(
    session: Session, account_pk: int, contact_ids: Sequence[str]
) -> list[ClosedDeal]:
    """The stored closed-deal rows of these contacts."""
    return _rows(session, account_pk, CrmDealContact.contact_id, contact_ids)


def replace_deal_rows(
    session: Session,
    account_pk: int,
    deal_ids: Sequence[str],
    rows: Sequence[ClosedDeal],
    now: datetime,
) -> None:
    """Store `rows` as the whole of these deals' closed-deal rows."""
    for start in range(0, len(deal_ids), CHUNK):
        session.execute(
            delete(CrmDealContact).where(
                CrmDealContact.account_pk == account_pk,
                CrmDealContact.deal_id.in_(deal_ids[start : start + CHUNK]),
            )
        )
    session.add_all(
        CrmDealContact(account_pk=account_pk, updated_at=now, **vars(row))
        for row in rows
    )


def recorded(
    session: Session, account_pk: int, contact_ids: Sequence[str]
) -> dict[str, str]:
    """The action recorded as feedback per contact, for those that have one."""
    found: dict[str, str] = {}
    for start in range(0, len(contact_ids), CHUNK):
        found.update(
            session.execute(
                select(CrmContactOutcome.contact_id, CrmContactOutcome.action).where(
                    CrmContactOutcome.account_pk == account_pk,
                    CrmContactOutcome.contact_id.in_(
                        contact_ids[start : start + CHUNK]
                    ),
                )
            )
            .tuples()
            .all()
        )
    return found


def set_recorded(
    session: Session, account_pk: int, contact_id: str, decided: ClosedDeal | None
) -> None:
    """Note what the contact's feedback now says (None: nothing)."""
    row = session.get(CrmContactOutcome, (account_pk, contact_id))
    if decided is None:
        if row is not None:
            session.delete(row)
        return
    if row is None:
        row = CrmContactOutcome(account_pk=account_pk, contact_id=contact_id)
        session.add(row)
    row.action = action_for(decided.outcome)
    row.at = decided.closed_at
    row.deal_id = decided.deal_id


def forget_contact(session: Session, account_pk: int, contact_id: str) -> None:
    """Drop a contact from the ledger (its feedback is forgotten by the caller)."""
    for model in (CrmDealContact, CrmContactOutcome):
        session.execute(
            delete(model).where(
                model.account_pk == account_pk, model.contact_id == contact_id
            )
        )


def move_contact(session: Session, account_pk: int, from_id: str, to_id: str) -> None:
    """A merged contact's closed deals become the surviving contact's; its
    recorded outcome goes (the survivor's is decided at its next deal change,
    which the merge's re-linking reports)."""
    kept = set(
        session.scalars(
            select(CrmDealContact.deal_id).where(
                CrmDealContact.account_pk == account_pk,
                CrmDealContact.contact_id == to_id,
            )
        )
    )
    for row in session.scalars(
        select(CrmDealContact).where(
            CrmDealContact.account_pk == account_pk,
            CrmDealContact.contact_id == from_id,
        )
    ):
        if row.deal_id in kept:
            session.delete(row)
        else:
            row.contact_id = to_id
    session.execute(
        delete(CrmContactOutcome).where(
            CrmContactOutcome.account_pk == account_pk,
            CrmContactOutcome.contact_id == from_id,
        )
    )


def _rows(
    session: Session,
    account_pk: int,
    column: InstrumentedAttribute[str],
    ids: Sequence[str],
) -> list[ClosedDeal]:
    found: list[CrmDealContact] = []
    for start in range(0, len(ids), CHUNK):
        found += session.scalars(
            select(CrmDealContact).where(
                CrmDealContact.account_pk == account_pk,
                column.in_(ids[start : start + CHUNK]),
            )
        )
    return [
        ClosedDeal(r.deal_id, r.contact_id, r.outcome, r.stage_id, r.closed_at)
        for r in found
    ]


# -- inbox events -------------------------------------------------------------------


def release_events(session: Session, event_ids: Sequence[int], now: datetime) -> None:
    """Hand claimed events back, due at once and their attempt not counted."""
    session.execute(
        update(CrmEvent)
        .where(CrmEvent.id.in_(event_ids))
        .values(next_attempt_at=now, attempts=CrmEvent.attempts - 1)
    )


# -- record signals -----------------------------------------------------------------


def record_new_signals(
    sessions: sessionmaker[Session],
    feedback: FeedbackRecorder,
    account_pk: int,
    client_id: str,
    lead_key: Callable[[RecordRef], str],
    contacts: Sequence[CrmContact],
    at: datetime,
) -> None:
    """A signal a known record shows now and did not before becomes feedback
    (values: the record's last score at `at`); a record seen for the first time
    brings none (its signals predate us). Recording twice is harmless: an
    outcome counts once per lead and action."""
    showing = [c for c in contacts if c.signals]
    if not showing:
        return
    stored = _stored_signals(sessions, account_pk, showing)
    for contact in showing:
        before = stored.get(contact.ref)
        if before is None:
            continue
        for signal in SIGNALS:
            if signal in contact.signals and signal not in before:
                try:
                    feedback.record_outcome(
                        client_id, lead_key(contact.ref), signal, at=at
                    )
                except Unavailable:
                    raise
                except DomainError as refused:  # e.g. never scored: nothing to learn
                    log.info("signal %s not recorded: %s", signal, refused.message)


def stored_signals_after(
    before: Sequence[str] | None, shown: frozenset[str]
) -> list[str]:
    """What a record keeps: every signal it has shown (rescoring from stored
    inputs shows none, and must not erase them)."""
    kept = set(before or ()) | shown
    return [signal for signal in SIGNALS if signal in kept]


def _stored_signals(
    sessions: sessionmaker[Session], account_pk: int, contacts: Sequence[CrmContact]
) -> dict[RecordRef, set[str]]:
    found: dict[RecordRef, set[str]] = {}
    by_type: dict[str, list[str]] = {}
    for contact in contacts:
        by_type.setdefault(contact.ref.object_type, []).append(contact.ref.record_id)
    with sessions() as session:
        for object_type, ids in by_type.items():
            for start in range(0, len(ids), CHUNK):
                rows = session.execute(
                    select(CrmRecord.record_id, CrmRecord.signals).where(
                        CrmRecord.account_pk == account_pk,
                        CrmRecord.object_type == object_type,
                        CrmRecord.record_id.in_(ids[start : start + CHUNK]),
                    )
                )
                for record_id, signals in rows:
                    found[RecordRef(object_type, record_id)] = set(signals or ())
    return found
