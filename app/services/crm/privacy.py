"""Contacts that leave a CRM account: deletions, privacy deletions and merges.

HubSpot sends `contact.privacyDeletion` for a GDPR request together with a
`contact.deletion`, in either order and in different deliveries, and
`contact.merge` when contacts become one. `ContactRemovals.drain` claims an
account's due events of these kinds, before the contact drain
(app/services/crm/sync.py) runs, and applies them:

- a privacy deletion purges every trace of the contact: its record, score
  history and snapshot, its feedback (through the feedback recorder, so a remote
  Config API forgets it too), its deal-outcome ledger rows and every inbox row
  that names it, done ones and the request itself included;
- a deletion drops the contact's scores but keeps its feedback, which is keyed
  by a keyed hash and keeps teaching the weights;
- a merge moves the merged contacts' score history and outcome ledger to the
  survivor and queues the survivor to be read and scored again, whatever
  property changes HubSpot reports for the values it moved.

Each step is idempotent, so a privacy deletion and its deletion leave the same
state in either order without a tombstone: an applied deletion leaves no inbox
row, because a row naming a contact that is gone would only keep its id.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Delete, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import CrmAccount, CrmEvent, CrmRecord
from app.models.base import utcnow
from app.models.sync import DONE, PENDING
from app.services.crm import outcomes
from app.services.crm.contact_rows import (
    CONTACTS,
    drop_events,
    events_naming,
    id_text,
    merge_parties,
    move_lead,
    queue_rescore,
)
from app.services.crm.event_claims import ClaimedEvent, claim_due, retry_events
from app.services.crm.sync import RESCORE_KINDS
from app.services.errors import Unavailable
from app.services.keys import LeadKeys
from app.services.learning.feedback import FeedbackRecorder
from app.services.scoring.history import forget_lead

log = logging.getLogger(__name__)

PRIVACY_DELETION = "contact.privacyDeletion"
DELETION = "contact.deletion"
MERGE = "contact.merge"
REMOVAL_KINDS = (PRIVACY_DELETION, DELETION, MERGE)
# Privacy first: it also removes the other events naming its contact. Merges
# before deletions, so history moved to a survivor deleted in the same batch
# goes with it.
_ORDER = {PRIVACY_DELETION: 0, MERGE: 1, DELETION: 2}


@dataclass(frozen=True)
class _Account:
    pk: int
    crm: str
    account_id: str
    client_id: str


class ContactRemovals:
    """Applies contact deletions, privacy deletions and merges, for any CRM."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        lead_keys: LeadKeys,
        feedback: FeedbackRecorder,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._keys = lead_keys
        self._feedback = feedback
        self._clock = clock

    def drain(self, account_pk: int, limit: int = 1000) -> int:
        """Apply up to `limit` due removal events of one account; how many were
        claimed (postponed ones included)."""
        events = self._claim(account_pk, limit)
        if not events:
            return 0
        account = self._account(account_pk)
        if account is None:
            return len(events)  # purged meanwhile: its events went with it
        busy = self._being_rescored(account_pk)
        for event in sorted(events, key=lambda e: (_ORDER[e.kind], e.id)):
            if busy.intersection(_named(event)):
                # A contact drain read this contact and will write it: applied
                # now, its write would bring back what this removes.
                self._postpone(event.id)
                continue
            try:
                self._apply(account, event)
            except (SQLAlchemyError, Unavailable) as error:
                log.warning("contact event %s failed: %s", event.id, error)
                self._retry(event.id, f"{type(error).__name__}: {error}")
        return len(events)

    # -- the three kinds --------------------------------------------------------

    def _apply(self, account: _Account, event: ClaimedEvent) -> None:
        contact_id = id_text(event.object_id)
        if event.kind == PRIVACY_DELETION and contact_id is not None:
            if not self._still_there(event.id):
                return  # purged by another privacy deletion of this batch
            # Its own transactions, first: if the purge below fails, the request
            # stays pending and both run again.
            self._feedback.forget_lead(
                account.client_id, self._key(account, contact_id)
            )
        with self._sessions.begin() as session:
            row = session.get(CrmEvent, event.id)
            if row is None:
                return  # purged by a privacy deletion of this batch
            if event.kind == MERGE:
                self._merge(session, account, event, row)
            elif contact_id is None:
                drop_events(session, [event.id])  # names nobody: nothing to do
            elif event.kind == PRIVACY_DELETION:
                self._purge(session, account, contact_id)
            else:
                self._drop_scores(session, account, contact_id)
                drop_events(session, [event.id])

    def _purge(self, session: Session, account: _Account, contact_id: str) -> None:
        self._drop_scores(session, account, contact_id)
        outcomes.forget_contact(session, account.pk, contact_id)
        drop_events(session, events_naming(session, account.pk, contact_id))

    def _drop_scores(
        self, session: Session, account: _Account, contact_id: str
    ) -> None:
        session.execute(_delete_record(account, contact_id))
        forget_lead(session, account.client_id, self._key(account, contact_id))

    def _merge(
        self, session: Session, account: _Account, event: ClaimedEvent, row: CrmEvent
    ) -> None:
        survivor, merged = merge_parties(event.object_id, event.payload)
        row.status = DONE
        if survivor is None:
            row.last_error = "the merge names no surviving contact"
            return
        into = self._key(account, survivor)
        for contact_id in merged:
            move_lead(session, account.client_id, self._key(account, contact_id), into)
            outcomes.move_contact(session, account.pk, contact_id, survivor)
            session.execute(_delete_record(account, contact_id))
        queue_rescore(session, row, survivor, self._clock())

    # -- claiming and bookkeeping ---------------------------------------------------

    def _claim(self, account_pk: int, limit: int) -> list[ClaimedEvent]:
        with self._sessions.begin() as session:
            return claim_due(session, account_pk, REMOVAL_KINDS, limit, self._clock())

    def _account(self, account_pk: int) -> _Account | None:
        with self._sessions() as session:
            row = session.get(CrmAccount, account_pk)
            if row is None:
                return None
            return _Account(row.id, row.crm, row.account_id, row.client_id)

    def _being_rescored(self, account_pk: int) -> set[str]:
        """Contacts whose rescoring events a contact drain holds (or waits to
        retry): their pending events are not due yet."""
        with self._sessions() as session:
            return set(
                session.scalars(
                    select(CrmEvent.object_id).where(
                        CrmEvent.account_pk == account_pk,
                        CrmEvent.status == PENDING,
                        CrmEvent.kind.in_(RESCORE_KINDS),
                        CrmEvent.attempts > 0,
                        CrmEvent.next_attempt_at > self._clock(),
                    )
                )
            )

    def _still_there(self, event_id: int) -> bool:
        with self._sessions() as session:
            return session.get(CrmEvent, event_id) is not None

    def _postpone(self, event_id: int) -> None:
        """Leave the event claimed until the rescoring ends; not an attempt."""
        with self._sessions.begin() as session:
            session.execute(
                update(CrmEvent)
                .where(CrmEvent.id == event_id)
                .values(attempts=CrmEvent.attempts - 1)
            )

    def _retry(self, event_id: int, reason: str) -> None:
        with self._sessions.begin() as session:
            retry_events(session, [event_id], reason, True, self._clock())

    def _key(self, account: _Account, contact_id: str) -> str:
        return self._keys.for_crm_record(
            account.crm, account.account_id, CONTACTS, contact_id
        )


def _named(event: ClaimedEvent) -> set[str]:
    if event.kind == MERGE:
        survivor, merged = merge_parties(event.object_id, event.payload)
        return {*merged, *([survivor] if survivor else [])}
    contact_id = id_text(event.object_id)
    return {contact_id} if contact_id else set()


def _delete_record(account: _Account, contact_id: str) -> Delete:
    return delete(CrmRecord).where(
        CrmRecord.account_pk == account.pk,
        CrmRecord.object_type == CONTACTS,
        CrmRecord.record_id == contact_id,
    )
