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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, update

from app.crm.base import CrmAccount, CrmContact, CrmError, RecordRef
from app.models.sync import FAILED, PENDING, CrmEvent, CrmRecord, CrmSync
from app.services.crm.contact_rows import drop_settled
from app.services.crm.event_claims import CLAIM, retry_events
from app.services.crm.overview import contacts_scored
from app.services.crm.reconcile import (
    ContactWalks,
    joined_cursor,
    split_cursor,
    walk_finished,
    walking,
)
from app.services.crm.scorer import iso_or_none, sync_state

log = logging.getLogger(__name__)

# Contact events whose effect is "read the contact again and rescore it".
RESCORE_KINDS = ("contact.creation", "contact.propertyChange", "contact.restore")
# The same for a record of any scored type (the event's object_type names it),
# for CRMs whose events are not HubSpot's contact events.
RECORD_KINDS = ("record.creation", "record.change")
CLAIMED_KINDS = (*RESCORE_KINDS, *RECORD_KINDS)
BATCH = 100


@dataclass(frozen=True)
class DrainResult:
    """What one drain did."""

    events: int
    contacts_read: int
    written: int
    retry_later: bool


class RecordSync(ContactWalks):
    """Drains inboxes and backfills accounts, for any CRM adapter."""

    # -- inbox ------------------------------------------------------------------

    def drain(self, account_pk: int, crm: CrmAccount, limit: int = 1000) -> DrainResult:
        """Apply up to `limit` due contact events of one account."""
        claimed = self._claim(account_pk, limit)
        if not claimed:
            return DrainResult(0, 0, 0, False)
        ids = [event_id for event_id, _, _ in claimed]
        wanted = list(
            dict.fromkeys(RecordRef(kind, rid) for _, kind, rid in claimed if rid)
        )
        try:
            contacts = self._read(crm, wanted)
            written, failed = self._score_and_write(account_pk, crm, contacts, ids)
        except CrmError as error:
            self._retry(ids, str(error), error.retryable)
            return DrainResult(len(ids), 0, 0, True)
        found = {contact.ref for contact in contacts}
        if gone := {r.record_id for r in wanted if r not in found and _contact(r)}:
            with self._sessions.begin() as session:  # no row keeps their ids
                drop_settled(session, ids, gone)
        return DrainResult(len(ids), len(contacts), written, bool(failed))

    def _claim(self, account_pk: int, limit: int) -> list[tuple[int, str, str | None]]:
        now = self._clock()
        with self._sessions.begin() as session:
            # The account's claims take turns: this write holds its sync row
            # (PostgreSQL) or the write lock (SQLite) until the commit, so the
            # query below sees every claim made before.
            session.execute(
                update(CrmSync)
                .where(CrmSync.account_pk == account_pk)
                .values(backfill_done=CrmSync.backfill_done)
            )
            # A contact whose earlier event is claimed (or waits for its retry)
            # waits with it: two drains reading and writing one contact at once
            # could land the older read's score last, over the newer one.
            busy = select(CrmEvent.object_id).where(
                CrmEvent.account_pk == account_pk,
                CrmEvent.status == PENDING,
                CrmEvent.kind.in_(CLAIMED_KINDS),
                CrmEvent.next_attempt_at > now,
                CrmEvent.object_id.is_not(None),
            )
            due = session.execute(
                select(CrmEvent.id, CrmEvent.object_type, CrmEvent.object_id)
                .where(
                    CrmEvent.account_pk == account_pk,
                    CrmEvent.status == PENDING,
                    CrmEvent.kind.in_(CLAIMED_KINDS),
                    CrmEvent.next_attempt_at <= now,
                    or_(CrmEvent.object_id.is_(None), CrmEvent.object_id.not_in(busy)),
                )
                .order_by(CrmEvent.id)
                .limit(limit)
            ).all()
            if due:
                session.execute(
                    update(CrmEvent)
                    .where(CrmEvent.id.in_([row[0] for row in due]))
                    .values(next_attempt_at=now + CLAIM, attempts=CrmEvent.attempts + 1)
                )
        return [tuple(row) for row in due]  # type: ignore[misc]

    def _read(self, crm: CrmAccount, refs: Sequence[RecordRef]) -> list[CrmContact]:
        contacts: list[CrmContact] = []
        for start in range(0, len(refs), BATCH):
            contacts.extend(crm.read_contacts(refs[start : start + BATCH]))
        return contacts

    def _retry(self, event_ids: Sequence[int], reason: str, retryable: bool) -> None:
        with self._sessions.begin() as session:
            retry_events(session, event_ids, reason, retryable, self._clock())

    # -- backfill ----------------------------------------------------------------

    def backfill(self, account_pk: int, crm: CrmAccount, pages: int = 10) -> bool:
        """Score up to `pages` more pages of the account's records, of every
        type the adapter scores, one type after the other; True when the walk
        has reached the end or another run carries it on (reconcile.py)."""
        types = crm.scored_types
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            if not walking(state):
                return True
            if state.backfill_started_at is None:
                state.backfill_started_at = self._clock()
            cursor, started = state.backfill_cursor, state.backfill_started_at
        lease = self._hold_walk(account_pk, None)
        if lease is None:
            return True  # another run holds the walk and carries it on
        try:
            for _ in range(pages):
                object_type, inner = split_cursor(cursor, types)
                read_at = self._clock()
                page = crm.list_contacts(object_type, inner, BATCH)
                fresh = self._not_newer(account_pk, page.contacts, read_at)
                self._score_and_write(account_pk, crm, fresh, [])
                following = joined_cursor(object_type, page.next_cursor, types)
                if following is None and not self._forget_unseen(
                    account_pk, crm, started
                ):
                    return False  # more to sweep: the next run lists this page again
                if not self._advance(
                    account_pk, started, cursor, following, len(page.contacts)
                ):
                    return True
                cursor = following
                if cursor is None:
                    return True
                lease = self._hold_walk(account_pk, lease)
                if lease is None:
                    return True  # the lease ran out and another run took over
            return False
        finally:
            self._release_walk(account_pk, lease)

    def _not_newer(
        self, account_pk: int, contacts: Sequence[CrmContact], read_at: datetime
    ) -> list[CrmContact]:
        """The page's contacts that no drain holds or read after this page: the
        drain's fresher read must not be overwritten by the walk's older one."""
        by_type: dict[str, list[str]] = {}
        for contact in contacts:
            by_type.setdefault(contact.ref.object_type, []).append(
                contact.ref.record_id
            )
        held: set[RecordRef] = set()
        with self._sessions() as session:
            for object_type, ids in by_type.items():
                held.update(
                    RecordRef(object_type, record_id)
                    for record_id in session.scalars(
                        select(CrmEvent.object_id).where(
                            CrmEvent.account_pk == account_pk,
                            CrmEvent.status == PENDING,
                            CrmEvent.kind.in_(CLAIMED_KINDS),
                            CrmEvent.object_type == object_type,
                            CrmEvent.object_id.in_(ids),
                        )
                    )
                )
                held.update(
                    RecordRef(object_type, record_id)
                    for record_id in session.scalars(
                        select(CrmRecord.record_id).where(
                            CrmRecord.account_pk == account_pk,
                            CrmRecord.object_type == object_type,
                            CrmRecord.record_id.in_(ids),
                            CrmRecord.read_at > read_at,
                        )
                    )
                )
        return [c for c in contacts if c.ref not in held]

    def status(self, account_pk: int) -> dict[str, object]:
        """Progress and health of the account's sync, for operators."""
        with self._sessions() as session:
            state = session.get(CrmSync, account_pk)
            counts = dict(
                session.execute(
                    select(CrmEvent.status, func.count())
                    .where(CrmEvent.account_pk == account_pk)
                    .group_by(CrmEvent.status)
                ).all()
            )
            scored = contacts_scored(session, account_pk)
        calls = state.api_calls if state else 0
        failures = state.api_failures if state else 0
        return {
            "contacts_scored": scored,
            "backfill": {
                "done": state.backfill_done if state else 0,
                "total": state.backfill_total if state else None,
                "finished": bool(state and not walking(state)),
            },
            "reconciled_at": iso_or_none(state.backfill_finished_at if state else None),
            "inbox": {
                "pending": counts.get(PENDING, 0),
                "failed": counts.get(FAILED, 0),
            },
            "mapping": dict(state.mapping or {}) if state else {},
            "stage_actions": dict(state.stage_actions or {}) if state else {},
            "api_calls": {"attempts": calls, "not_ok": failures},
            "api_success_rate": round(1 - failures / calls, 4) if calls else None,
            "last_rescored_at": iso_or_none(state.last_rescored_at if state else None),
        }

    def record_calls(self, account_pk: int, counts: dict[str, int]) -> None:
        """Add a run's CRM call outcomes to the account's success rate."""
        total = sum(counts.values())
        if not total:
            return
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            state.api_calls += total
            state.api_failures += total - counts.get("ok", 0)

    def mapping(self, account_pk: int) -> dict[str, str]:
        """The account's mapping overrides (lead field -> CRM property)."""
        with self._sessions() as session:
            state = session.get(CrmSync, account_pk)
            return dict(state.mapping or {}) if state else {}

    def set_mapping(
        self, account_pk: int, changes: dict[str, str | None]
    ) -> dict[str, str]:
        """Apply override changes (None removes one); returns the new mapping."""
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            mapping = {**(state.mapping or {}), **changes}
            state.mapping = {k: v for k, v in mapping.items() if v is not None}
            return dict(state.mapping)

    def finished_backfills(self) -> list[int]:
        """Accounts whose backfill reached the end."""
        with self._sessions() as session:
            return list(
                session.scalars(select(CrmSync.account_pk).where(walk_finished()))
            )

    def restart_backfill(self, account_pk: int) -> None:
        """Walk every contact again from the first (after an install)."""
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            state.backfill_cursor = None
            state.backfill_done = 0
            state.backfill_total = None
            state.backfill_started_at = None
            state.backfill_finished_at = None


def _contact(ref: RecordRef) -> bool:
    return ref.object_type == "contacts"
