"""CRM deal outcomes become feedback, once each.

`drain` claims an account's due deal events (a stage change, a contact linked or
unlinked, a deal deleted or restored), coalesces them per deal and reads each
deal again now: the state at processing time decides, so duplicated and
shuffled deliveries converge. A closed deal's contacts are its outcome's
contacts; per contact the latest closed deal decides (won on a tie), and what
is recorded as feedback follows it: recorded when new, replaced when a later
deal decides otherwise, withdrawn when no closed deal remains (a reopened deal).
The feedback carries the contact's factor values from the moment the deal
closed, so what changed because of the outcome does not leak into learning.

Feedback goes out first (recording again is ignored, withdrawing nothing is
harmless), then the ledger and the events settle in one transaction: a crash in
between re-runs the events without a second effect.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmAccount, CrmError, Deal, record_of
from app.models.base import utcnow
from app.models.sync import DONE, CrmEvent
from app.services.crm.event_claims import claim_due, retry_events
from app.services.crm.outcome_ledger import (
    LedgerAccount,
    contact_rows,
    deal_rows,
    forget_contact,
    ledger_account,
    move_contact,
    recorded,
    release_events,
    replace_deal_rows,
    set_recorded,
)
from app.services.crm.outcome_rules import (
    ClosedDeal,
    action_for,
    closed_rows,
    deal_ids_of,
    deciding,
    merged_stage_actions,
)
from app.services.crm.scorer import sync_state
from app.services.crm.sync import DrainResult, RecordSync
from app.services.errors import DomainError, NoFactorValues, Unavailable
from app.services.keys import LeadKeys
from app.services.learning.feedback import FeedbackRecorder

# The privacy handling of contact deletion and merge updates the ledger with these.
__all__ = ["DealOutcomes", "forget_contact", "move_contact"]

DEAL_KINDS = (
    "deal.propertyChange",
    "deal.associationChange",
    "deal.deletion",
    "deal.restore",
    "deal.merge",
)
# Stage moves, for CRMs that report them as such: a deal's (its contacts' outcome)
# and a lead's (its own outcome, in its funnel).
STAGE_KINDS = ("deal.stageChange", "lead.stageChange")
MAX_EVENTS = 200  # claimed per drain
MAX_DEALS = 100  # read per drain
NOT_SCORED = "not scored before the outcome: no feedback"


@dataclass(frozen=True)
class _Event:
    id: int
    deals: list[str]
    occurred_at: datetime


class DealOutcomes:
    """Turns an account's deal events into feedback for the deals' contacts."""

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

    def drain_with(
        self, contacts: RecordSync, account_pk: int, crm: CrmAccount
    ) -> DrainResult:
        """The contact events first (so contacts are scored when their deals
        are looked at), then the deal events; one result for both."""
        scored = contacts.drain(account_pk, crm)
        return replace(scored, events=scored.events + self.drain(account_pk, crm))

    def drain(self, account_pk: int, crm: CrmAccount) -> int:
        """Apply up to 200 due deal events (100 deals) of one account; returns
        the events taken (those that failed wait for their retry)."""
        claimed = self._claim(account_pk)
        if not claimed:
            return 0
        first_seen: dict[str, datetime] = {}
        taken, released = [], []
        for event in claimed:
            new = {d for d in event.deals if d not in first_seen}
            if len(first_seen) + len(new) > MAX_DEALS:
                released.append(event.id)
                continue
            for deal_id in event.deals:
                seen = first_seen.get(deal_id, event.occurred_at)
                first_seen[deal_id] = min(seen, event.occurred_at)
            taken.append(event)
        self._release(released)
        deals, failure = _read(crm, list(first_seen))
        done = [e for e in taken if all(d in deals for d in e.deals)]
        unread = [e.id for e in taken if any(d not in deals for d in e.deals)]
        if failure is not None:
            self._retry(unread, str(failure), failure.retryable)
        try:
            self._apply(account_pk, deals, first_seen, done)
        except (Unavailable, IntegrityError) as error:
            # The feedback store or a concurrent drain: the same events again soon.
            self._retry([e.id for e in done], type(error).__name__, True)
        return len(taken)

    # -- stage overrides -------------------------------------------------------

    def set_stage_actions(
        self, account_pk: int, changes: dict[str, str | None]
    ) -> dict[str, str]:
        """Give deal stages another meaning as outcomes (None: the stage's own);
        applies to deal changes from now on. Returns the overrides."""
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            state.stage_actions = merged_stage_actions(
                state.stage_actions or {}, changes
            )
            return dict(state.stage_actions)

    # -- internals -------------------------------------------------------------

    def _claim(self, account_pk: int) -> list[_Event]:
        with self._sessions.begin() as session:
            claimed = claim_due(
                session,
                account_pk,
                (*DEAL_KINDS, *STAGE_KINDS),
                MAX_EVENTS,
                self._clock(),
            )
        return [
            _Event(e.id, deal_ids_of(e.kind, e.object_id, e.payload), e.occurred_at)
            for e in claimed
        ]

    def _release(self, event_ids: Sequence[int]) -> None:
        """Hand back events over this drain's deal budget, due at once."""
        if event_ids:
            with self._sessions.begin() as session:
                release_events(session, event_ids, self._clock())

    def _retry(self, event_ids: Sequence[int], reason: str, retryable: bool) -> None:
        with self._sessions.begin() as session:
            retry_events(session, event_ids, reason, retryable, self._clock())

    def _apply(
        self,
        account_pk: int,
        deals: dict[str, Deal | None],
        first_seen: dict[str, datetime],
        events: Sequence[_Event],
    ) -> None:
        now = self._clock()
        deal_ids = list(deals)
        with self._sessions() as session:
            account = ledger_account(session, account_pk)
            before = deal_rows(session, account_pk, deal_ids)
            wanted = closed_rows(
                deals, first_seen, before, account.stage_actions, account.since
            )
            affected = sorted(
                {r.contact_id for r in before} | {r.contact_id for r in wanted}
            )
            others = [
                row
                for row in contact_rows(session, account_pk, affected)
                if row.deal_id not in deals
            ]
            current = recorded(session, account_pk, affected)
        by_contact: dict[str, list[ClosedDeal]] = defaultdict(list)
        for row in [*others, *wanted]:
            by_contact[row.contact_id].append(row)
        notes: dict[str, list[str]] = defaultdict(list)
        changes: dict[str, ClosedDeal | None] = {}
        for contact_id in affected:
            decided = deciding(by_contact[contact_id])
            was = current.get(contact_id)
            if was == (action_for(decided.outcome) if decided else None):
                continue  # the feedback already says so
            changes[contact_id] = self._follow(account, contact_id, decided, was, notes)
        with self._sessions.begin() as session:
            replace_deal_rows(session, account_pk, deal_ids, wanted, now)
            for contact_id, decided in changes.items():
                set_recorded(session, account_pk, contact_id, decided)
            for event in events:
                note = "; ".join(n for d in event.deals for n in notes.get(d, []))
                session.execute(
                    update(CrmEvent)
                    .where(CrmEvent.id == event.id)
                    .values(status=DONE, last_error=note[:2000] or None)
                )

    def _follow(
        self,
        account: LedgerAccount,
        contact_id: str,
        decided: ClosedDeal | None,
        was: str | None,
        notes: dict[str, list[str]],
    ) -> ClosedDeal | None:
        """Make the feedback say what `decided` says; what is recorded now."""
        key = self._keys.for_crm_record(
            account.crm, account.account_id, *record_of(contact_id)
        )
        followed = None
        if decided is not None:
            action = action_for(decided.outcome)
            try:
                self._feedback.record_outcome(
                    account.client_id, key, action, at=decided.closed_at
                )
                followed = decided
            except Unavailable:
                raise
            except DomainError as refused:  # NoFactorValues: never scored before
                reason = NOT_SCORED if isinstance(refused, NoFactorValues) else None
                note = f"contact {contact_id}: {reason or refused.message}"
                notes[decided.deal_id].append(note)
        if was is not None:
            self._feedback.retract_outcome(account.client_id, key, was)
        return followed


def _read(
    crm: CrmAccount, deal_ids: Sequence[str]
) -> tuple[dict[str, Deal | None], CrmError | None]:
    """Each deal as it is now (None: gone); stops at the first CRM failure."""
    found: dict[str, Deal | None] = {}
    for deal_id in deal_ids:
        try:
            found[deal_id] = crm.read_deal(deal_id)
        except CrmError as failure:
            return found, failure
    return found, None
