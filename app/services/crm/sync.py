"""Keeping a CRM account's records scored: drain its inbox, backfill it.

The inbox (app/models/sync.py) is the truth. `drain` claims the account's due
contact events, coalesces them to one read per contact, reads the contacts in
batches, scores them with the account's published weights and writes back only
scores whose score, label, top factors or explanation differ from what the CRM
holds. Only then are the events marked done, together with the records' inputs
(for rescoring without reading the CRM) and score history, in one transaction.
A crash before that leaves the events pending: the next drain re-reads the
contacts, finds the written score already there and writes nothing, so an event
is applied once in effect however often it runs.

`backfill` walks every contact page by page, through the same scoring and write
path, storing its cursor and count after each page so it resumes where it
stopped and its progress is visible while it runs.

The CRM adapter is passed in per call (services/crm/<crm>_app.py builds it), so
this module is the same for every CRM.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmAccount, CrmContact, CrmError, RecordRef, ScoreWrite
from app.models import Client
from app.models.base import utcnow
from app.models.crm import CrmAccount as AccountRow
from app.models.sync import DONE, FAILED, PENDING, CrmEvent, CrmRecord, CrmSync
from app.scoring import compute_score
from app.scoring.engine import read_lead
from app.services.crm.explain import explanation, top_factors
from app.services.keys import LeadKeys
from app.services.scoring.configs import ClientConfig, config_of
from app.services.scoring.history import ScoredLead, record_scores

log = logging.getLogger(__name__)

# Contact events whose effect is "read the contact again and rescore it".
RESCORE_KINDS = ("contact.creation", "contact.propertyChange", "contact.restore")
BATCH = 100
CLAIM = timedelta(minutes=2)  # how long a drain owns the events it claimed
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class DrainResult:
    """What one drain did."""

    events: int
    contacts_read: int
    written: int
    retry_later: bool


class RecordSync:
    """Drains inboxes and backfills accounts, for any CRM adapter."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        lead_keys: LeadKeys,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._keys = lead_keys
        self._clock = clock

    # -- inbox ------------------------------------------------------------------

    def drain(self, account_pk: int, crm: CrmAccount, limit: int = 1000) -> DrainResult:
        """Apply up to `limit` due contact events of one account."""
        claimed = self._claim(account_pk, limit)
        if not claimed:
            return DrainResult(0, 0, 0, False)
        ids = [event_id for event_id, _ in claimed]
        wanted = list(dict.fromkeys(record_id for _, record_id in claimed if record_id))
        try:
            contacts = self._read(crm, wanted)
            written, failed = self._score_and_write(account_pk, crm, contacts, ids)
        except CrmError as error:
            self._retry(ids, str(error), error.retryable)
            return DrainResult(len(ids), 0, 0, True)
        return DrainResult(len(ids), len(contacts), written, bool(failed))

    def pending(self, account_pk: int) -> int:
        """Contact events of the account still to apply."""
        with self._sessions() as session:
            return len(
                session.scalars(
                    select(CrmEvent.id).where(
                        CrmEvent.account_pk == account_pk,
                        CrmEvent.status == PENDING,
                        CrmEvent.kind.in_(RESCORE_KINDS),
                    )
                ).all()
            )

    def _claim(self, account_pk: int, limit: int) -> list[tuple[int, str | None]]:
        now = self._clock()
        with self._sessions.begin() as session:
            due = session.execute(
                select(CrmEvent.id, CrmEvent.object_id)
                .where(
                    CrmEvent.account_pk == account_pk,
                    CrmEvent.status == PENDING,
                    CrmEvent.kind.in_(RESCORE_KINDS),
                    CrmEvent.next_attempt_at <= now,
                )
                .order_by(CrmEvent.id)
                .limit(limit)
            ).all()
            if not due:
                return []
            # Only rows still due are taken: a concurrent drain gets the others.
            taken = set(
                session.scalars(
                    update(CrmEvent)
                    .where(
                        CrmEvent.id.in_([row[0] for row in due]),
                        CrmEvent.next_attempt_at <= now,
                        CrmEvent.status == PENDING,
                    )
                    .values(next_attempt_at=now + CLAIM, attempts=CrmEvent.attempts + 1)
                    .returning(CrmEvent.id)
                ).all()
            )
        return [
            (event_id, object_id) for event_id, object_id in due if event_id in taken
        ]

    def _read(self, crm: CrmAccount, record_ids: Sequence[str]) -> list[CrmContact]:
        contacts: list[CrmContact] = []
        for start in range(0, len(record_ids), BATCH):
            refs = [
                RecordRef("contacts", rid) for rid in record_ids[start : start + BATCH]
            ]
            contacts.extend(crm.read_contacts(refs))
        return contacts

    def _retry(self, event_ids: Sequence[int], reason: str, retryable: bool) -> None:
        now = self._clock()
        with self._sessions.begin() as session:
            for event in session.scalars(
                select(CrmEvent).where(CrmEvent.id.in_(event_ids))
            ):
                event.last_error = reason[:2000]
                if not retryable or event.attempts >= MAX_ATTEMPTS:
                    event.status = FAILED
                else:
                    delay = min(3600, 5 * 2 ** min(event.attempts, 10))
                    event.next_attempt_at = now + timedelta(seconds=delay)

    # -- backfill ----------------------------------------------------------------

    def backfill(self, account_pk: int, crm: CrmAccount, pages: int = 10) -> bool:
        """Score up to `pages` more pages of the account's contacts; True when the
        backfill has reached the end."""
        with self._sessions.begin() as session:
            state = _sync_state(session, account_pk)
            if state.backfill_finished_at is not None:
                return True
            if state.backfill_started_at is None:
                state.backfill_started_at = self._clock()
            cursor = state.backfill_cursor
        for _ in range(pages):
            page = crm.list_contacts("contacts", cursor, BATCH)
            self._score_and_write(account_pk, crm, page.contacts, [])
            cursor = page.next_cursor
            with self._sessions.begin() as session:
                state = _sync_state(session, account_pk)
                state.backfill_cursor = cursor
                state.backfill_done += len(page.contacts)
                if cursor is None:
                    state.backfill_finished_at = self._clock()
                    state.backfill_total = state.backfill_done
            if cursor is None:
                return True
        return False

    def finished_backfills(self) -> list[int]:
        """Accounts whose backfill reached the end."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(CrmSync.account_pk).where(
                        CrmSync.backfill_finished_at.is_not(None)
                    )
                )
            )

    def restart_backfill(self, account_pk: int) -> None:
        """Walk every contact again from the first (after an install)."""
        with self._sessions.begin() as session:
            state = _sync_state(session, account_pk)
            state.backfill_cursor = None
            state.backfill_done = 0
            state.backfill_total = None
            state.backfill_started_at = None
            state.backfill_finished_at = None

    # -- scoring and writing -------------------------------------------------------

    def _score_and_write(
        self,
        account_pk: int,
        crm: CrmAccount,
        contacts: Sequence[CrmContact],
        event_ids: Sequence[int],
    ) -> tuple[int, list[RecordRef]]:
        now = self._clock()
        account, config = self._account_config(account_pk)
        scored = [self._score(config, contact, now) for contact in contacts]
        writes = [s.write for s in scored if s.changed]
        failures = crm.write_scores(writes) if writes else []
        failed = {f.ref for f in failures}
        retry = [f.ref for f in failures if f.retryable]
        with self._sessions.begin() as session:
            for item in scored:
                if item.write.ref not in failed:
                    _remember(session, account_pk, item, config.version)
            record_scores(
                session,
                [
                    ScoredLead(
                        config.client_id,
                        self._keys.for_crm_record(
                            account.crm,
                            account.account_id,
                            "contacts",
                            s.write.ref.record_id,
                        ),
                        s.values,
                        s.write.score,
                        s.label,
                        config.version,
                        now,
                    )
                    for s in scored
                    if s.write.ref not in failed
                ],
            )
            if event_ids:
                self._settle(session, event_ids, retry, failures, now)
        return len(writes) - len(failures), retry

    def _settle(self, session, event_ids, retry, failures, now) -> None:  # type: ignore[no-untyped-def]
        retry_ids = {ref.record_id for ref in retry}
        reasons = {f.ref.record_id: f.reason for f in failures}
        for event in session.scalars(
            select(CrmEvent).where(CrmEvent.id.in_(event_ids))
        ):
            if event.object_id in retry_ids:
                event.next_attempt_at = now + timedelta(seconds=30)
                event.last_error = reasons.get(event.object_id)
            elif event.object_id in reasons:
                event.status = FAILED
                event.last_error = reasons[event.object_id]
            else:
                event.status = DONE

    def _score(
        self, config: ClientConfig, contact: CrmContact, now: datetime
    ) -> "_Scored":
        _email, values = read_lead(contact.lead, now.timestamp(), config.icp)
        score = compute_score(values, config.weights)
        label = config.bands.label_for(score)
        factors = top_factors(config.weights, values)
        why = explanation(label, contact.lead)
        stored = contact.stored
        changed = (
            stored.score != score
            or (stored.label or "") != label.removesuffix(" Lead")
            or (stored.top_factors or "") != factors
            or (stored.explanation or "") != why
        )
        write = ScoreWrite(
            ref=contact.ref,
            score=score,
            label=label,
            top_factors=factors,
            explanation=why,
            method=config.method,
            scored_at=now,
        )
        return _Scored(write, label, values, changed, contact)

    def _account_config(self, account_pk: int) -> tuple[AccountRow, ClientConfig]:
        with self._sessions() as session:
            account = session.get(AccountRow, account_pk)
            if account is None:
                raise LookupError(f"no CRM account {account_pk}")
            client = session.get(Client, account.client_id)
            config = config_of(session, client)
            session.expunge(account)
        return account, config


@dataclass(frozen=True)
class _Scored:
    write: ScoreWrite
    label: str
    values: tuple[float, ...]
    changed: bool
    contact: CrmContact


def _remember(
    session: Session, account_pk: int, item: _Scored, version: int | None
) -> None:
    ref = item.write.ref
    record = session.get(CrmRecord, (account_pk, ref.object_type, ref.record_id))
    if record is None:
        record = CrmRecord(
            account_pk=account_pk, object_type=ref.object_type, record_id=ref.record_id
        )
        session.add(record)
    record.lead = _storable(item.contact.lead)
    record.company_id = item.contact.company_id
    record.read_at = item.write.scored_at
    if item.changed or record.score is None:
        record.scored_at = item.write.scored_at
    record.score = item.write.score
    record.label = item.label
    record.top_factors = item.write.top_factors
    record.explanation = item.write.explanation
    record.weights_version = version


def _storable(lead: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lead.items() if v is not None and v != ""}


def _sync_state(session: Session, account_pk: int) -> CrmSync:
    state = session.get(CrmSync, account_pk)
    if state is None:
        state = CrmSync(account_pk=account_pk, backfill_done=0, mapping={})
        session.add(state)
        session.flush()
    return state
