"""Scoring CRM contacts and writing back only what changed, for the inbox drain
and the backfill (app/services/crm/sync.py).

Each contact is scored with the account's published weights; a write goes out
only when the score, label, top factors or explanation differ from what the CRM
holds. The records that need no write or were written are remembered (their
inputs, for rescoring without reading the CRM, and their score history) in the
same transaction that settles the events they came from. An outcome signal a
known record newly shows (a click, a reply, a bounce) becomes feedback once,
with the values from before this score. A record that became others (a lead
converted into a contact) hands them its score history when it first shows
the conversion.
"""

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmAccount, CrmContact, RecordRef, ScoreWrite
from app.db import conflict_insert
from app.models import Client
from app.models.base import utcnow
from app.models.crm import CrmAccount as AccountRow
from app.models.sync import DONE, FAILED, CrmEvent, CrmRecord, CrmSync
from app.scoring.engine import read_lead
from app.services.crm.explain import explanation, top_factors
from app.services.crm.outcome_ledger import record_new_signals, stored_signals_after
from app.services.keys import LeadKeys
from app.services.learning.feedback import FeedbackRecorder
from app.services.scoring.configs import ClientConfig, config_of
from app.services.scoring.history import ScoredLead, carry_history, record_scores

# The signal of a record that became others (a converted lead).
CONVERTED = "converted"


class ContactScoring:
    """Scores contacts and writes the changes (base of RecordSync)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        lead_keys: LeadKeys,
        *,
        feedback: FeedbackRecorder | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._keys = lead_keys
        self._feedback = feedback  # where newly shown record signals go
        self._clock = clock

    # -- scoring and writing -------------------------------------------------------

    def _score_and_write(
        self,
        account_pk: int,
        crm: CrmAccount,
        contacts: Sequence[CrmContact],
        event_ids: Sequence[int],
        *,
        read_now: bool = True,
    ) -> tuple[int, list[RecordRef]]:
        """Score, write what changed, remember. `read_now` False: the contacts
        are stored inputs, not a fresh read (their read time stays as it was)."""
        now = self._clock()
        account, config = self._account_config(account_pk)
        scored = [self._score(config, contact, now) for contact in contacts]
        writes = [s.write for s in scored if s.changed]
        failures = crm.write_scores(writes) if writes else []
        failed = {f.ref for f in failures}
        retry = [f.ref for f in failures if f.retryable]
        fingerprint = fingerprint_of(config)
        kept = [s for s in scored if s.write.ref not in failed]
        if self._feedback is not None:
            # Before the new scores enter history: the feedback takes the
            # values the record had before the signal.
            record_new_signals(
                self._sessions,
                self._feedback,
                account_pk,
                config.client_id,
                lambda ref: self._lead_key(account, ref),
                [s.contact for s in kept],
                now,
            )
        with self._sessions.begin() as session:
            known = _records(session, account_pk, kept)
            # A record that became others hands them its history once: when it
            # first shows the conversion (before _remember stores it).
            converting = [
                s
                for s in kept
                if s.contact.became
                and CONVERTED not in (known[s.write.ref].signals or ())
            ]
            for item in kept:
                _remember(
                    item,
                    config.version,
                    fingerprint,
                    known[item.write.ref],
                    read_now,
                )
            record_scores(
                session,
                [
                    ScoredLead(
                        config.client_id,
                        self._lead_key(account, s.write.ref),
                        s.values,
                        s.write.score,
                        s.label,
                        config.version,
                        now,
                    )
                    for s in kept
                ],
            )
            for item in converting:
                carry_history(
                    session,
                    config.client_id,
                    self._lead_key(account, item.write.ref),
                    [self._lead_key(account, ref) for ref in item.contact.became],
                )
            if event_ids:
                self._settle(session, event_ids, retry, failures, now)
        return len(writes) - len(failures), retry

    def _lead_key(self, account: AccountRow, ref: RecordRef) -> str:
        """A record's key in score history and feedback: its type is part of it
        (a CRM may number leads and contacts each from 1)."""
        return self._keys.for_crm_record(
            account.crm, account.account_id, ref.object_type, ref.record_id
        )

    def _settle(self, session, event_ids, retry, failures, now) -> None:  # type: ignore[no-untyped-def]
        retry_refs = set(retry)
        reasons = {f.ref: f.reason for f in failures}
        for event in session.scalars(
            select(CrmEvent).where(CrmEvent.id.in_(event_ids))
        ):
            ref = RecordRef(event.object_type, event.object_id or "")
            if ref in retry_refs:
                event.next_attempt_at = now + timedelta(seconds=30)
                event.last_error = reasons.get(ref)
            elif ref in reasons:
                event.status = FAILED
                event.last_error = reasons[ref]
            else:
                event.status = DONE

    def _score(
        self, config: ClientConfig, contact: CrmContact, now: datetime
    ) -> "_Scored":
        _email, values = read_lead(contact.lead, now.timestamp(), config.icp)
        score = config.score(values)
        label = config.bands.label_for(score)
        factors = top_factors(config.weights, config.tables.apply(values))
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


def sync_state(session: Session, account_pk: int) -> CrmSync:
    """The account's sync state row, created on first use."""
    state = session.get(CrmSync, account_pk)
    if state is None:
        state = CrmSync(account_pk=account_pk, backfill_done=0, mapping={})
        session.add(state)
        session.flush()
    return state


def iso_or_none(moment: datetime | None) -> str | None:
    """A moment for JSON output, or None."""
    return moment.isoformat() if moment else None


def fingerprint_of(config: ClientConfig) -> int:
    """A 31-bit fingerprint of what decides scores and labels: weights, value
    tables, bands."""
    described = repr((config.weights, config.bands, config.method))
    if config.tables.tables:  # no tables: the fingerprint records kept before
        described += repr(sorted(config.tables.to_json().items()))
    return zlib.crc32(described.encode()) & 0x7FFFFFFF


def _records(
    session: Session, account_pk: int, items: Sequence[_Scored]
) -> dict[RecordRef, CrmRecord]:
    """The stored rows of these records, those not stored yet inserted first.

    ON CONFLICT DO NOTHING: a drain and a walk (or two walks) that score the
    same new record at once both find its row instead of one failing.
    """
    if not items:
        return {}
    insert = conflict_insert(session.get_bind().dialect.name)
    session.execute(
        insert(CrmRecord)
        .values(
            [
                {
                    "account_pk": account_pk,
                    "object_type": item.write.ref.object_type,
                    "record_id": item.write.ref.record_id,
                    "lead": {},
                    "signals": [],
                    "read_at": item.write.scored_at,
                }
                for item in items
            ]
        )
        .on_conflict_do_nothing(
            index_elements=["account_pk", "object_type", "record_id"]
        )
    )
    by_type: dict[str, list[str]] = {}
    for item in items:
        ref = item.write.ref
        by_type.setdefault(ref.object_type, []).append(ref.record_id)
    found: dict[RecordRef, CrmRecord] = {}
    for object_type, ids in by_type.items():
        for record in session.scalars(
            select(CrmRecord).where(
                CrmRecord.account_pk == account_pk,
                CrmRecord.object_type == object_type,
                CrmRecord.record_id.in_(ids),
            )
        ):
            found[RecordRef(object_type, record.record_id)] = record
    return found


def _remember(
    item: _Scored,
    version: int | None,
    fingerprint: int,
    record: CrmRecord,
    read_now: bool,
) -> None:
    record.lead = _storable(item.contact.lead)
    record.company_id = item.contact.company_id
    if read_now or record.read_at is None:
        # The daily walk takes a record not read since it began for one that
        # HubSpot no longer has, so only a real read moves this.
        record.read_at = item.write.scored_at
    record.signals = stored_signals_after(record.signals, item.contact.signals)
    if item.changed or record.score is None:
        record.scored_at = item.write.scored_at
    record.score = item.write.score
    record.label = item.label
    record.top_factors = item.write.top_factors
    record.explanation = item.write.explanation
    record.weights_version = version
    record.scored_with = fingerprint


def _storable(lead: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lead.items() if v is not None and v != ""}
