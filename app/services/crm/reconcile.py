"""Walks over every contact of an account, and the daily reconciliation that
starts one for each installed account.

Scores can go stale without any event saying so: HubSpot retries a failed
webhook delivery for a while and then gives up, so an outage longer than that
loses events, and a mapping override reads a property that no subscription
covers. Once a day every installed account whose last walk finished starts a
new one, through the backfill's own machinery (RecordSync.backfill: pages, a
stored cursor and progress, the write-only-changes path), so every contact is
read again, missing or stale scores are written and unchanged ones cost no write.

A walk is the pair `backfill_started_at` / `backfill_finished_at` of crm_sync: it
runs while it started after the last walk finished (or none ever finished), so
the previous finish, `reconciled_at`, stays visible while the next one runs. Its
cursor only moves from the value a run read, so a second run of the same walk
(a re-queue by the minute sweep) stops instead of walking beside the first. A
run also holds the walk's lease (`walk_lease_until`, WALK_LEASE, renewed per
page): runs queued meanwhile end at once instead of reading and scoring the
held page again, and a run that died frees the walk when its lease runs out.

At the end of a complete walk, records not read since it started are contacts
the CRM deleted while we missed the event. A batch read confirms each is gone
(one whose write failed during the walk is still there: it is scored again)
before its row, score history and snapshot are deleted, so `contacts_scored`
stays true. The sweep is bounded per run and resumes in the next one.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from app.crm.base import CrmAccount, CrmContact, RecordRef
from app.models.crm import CrmAccount as AccountRow
from app.models.sync import CrmRecord, CrmSync
from app.services.crm.rescore import Rescoring
from app.services.crm.scorer import sync_state
from app.services.scoring.history import forget_lead
from app.services.tasks import TaskQueue

BATCH = 100
# Batch reads of unseen records per run, like the pages of a backfill run.
SWEEP_BATCHES = 10
CONTACTS = "contacts"
# Between an object type and its own cursor, in a walk over several types.
TYPE_SEPARATOR = "|"
# Longer than a page takes (Uspacy: a hundred writes at a call a second).
WALK_LEASE = timedelta(minutes=3)


def walking(state: CrmSync) -> bool:
    """Whether a walk over the account's contacts is under way."""
    started, finished = state.backfill_started_at, state.backfill_finished_at
    return finished is None or (started is not None and started > finished)


def walk_finished() -> ColumnElement[bool]:
    """`not walking(state)`, as SQL over crm_sync."""
    started, finished = CrmSync.backfill_started_at, CrmSync.backfill_finished_at
    return and_(finished.is_not(None), or_(started.is_(None), started <= finished))


def split_cursor(cursor: str | None, types: Sequence[str]) -> tuple[str, str | None]:
    """(object type, that type's own cursor) of a walk's stored cursor. An
    adapter scoring one type keeps its own cursor as it is; over several, the
    cursor is `<type>|<its cursor>` (nothing after the bar: the type's start)."""
    if len(types) == 1:
        return types[0], cursor
    if cursor is None:
        return types[0], None
    object_type, _, inner = cursor.partition(TYPE_SEPARATOR)
    if object_type not in types:
        raise ValueError(f"cursor names no type this CRM scores: {object_type!r}")
    return object_type, inner or None


def joined_cursor(
    object_type: str, following: str | None, types: Sequence[str]
) -> str | None:
    """The stored cursor after a page of `object_type` (None: the walk is over)."""
    if len(types) == 1:
        return following
    if following is not None:
        return f"{object_type}{TYPE_SEPARATOR}{following}"
    position = types.index(object_type) + 1
    return f"{types[position]}{TYPE_SEPARATOR}" if position < len(types) else None


class ContactWalks(Rescoring):
    """Starting, advancing and ending walks (a base of RecordSync)."""

    def _not_newer(
        self, account_pk: int, contacts: Sequence[CrmContact], read_at: datetime
    ) -> list[CrmContact]:
        raise NotImplementedError  # RecordSync: the contacts no drain holds

    def start_walk(self, account_pk: int) -> bool:
        """Walk every contact again, unless a walk is under way; True if started.
        The last walk's count stays as this one's expected total."""
        with self._sessions.begin() as session:
            state = sync_state(session, account_pk)
            if walking(state):
                return False
            now, last = self._clock(), state.backfill_finished_at
            if last is not None and now <= last:
                # A start must follow the last finish, even on a coarse clock.
                now = last + timedelta(microseconds=1)
            state.backfill_started_at = now
            state.backfill_cursor = None
            state.backfill_done = 0
        return True

    def _hold_walk(self, account_pk: int, held: datetime | None) -> datetime | None:
        """Take the walk's lease (`held` None) or renew the one this run holds;
        the lease's new end, or None when another run holds it."""
        now = self._clock()
        until = now + WALK_LEASE
        lease = CrmSync.walk_lease_until
        free = or_(lease.is_(None), lease <= now)
        with self._sessions.begin() as session:
            taken = session.execute(
                update(CrmSync)
                .where(
                    CrmSync.account_pk == account_pk,
                    free if held is None else or_(free, lease == held),
                )
                .values(walk_lease_until=until)
                .execution_options(synchronize_session=False)
            )
        return until if taken.rowcount == 1 else None  # type: ignore[attr-defined]

    def _release_walk(self, account_pk: int, held: datetime | None) -> None:
        """Give the lease back, if it is still this run's."""
        if held is None:
            return
        with self._sessions.begin() as session:
            session.execute(
                update(CrmSync)
                .where(
                    CrmSync.account_pk == account_pk,
                    CrmSync.walk_lease_until == held,
                )
                .values(walk_lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _advance(
        self,
        account_pk: int,
        started: datetime,
        cursor: str | None,
        following: str | None,
        read: int,
    ) -> bool:
        """Move the walk past one page, only from where this run found it: False
        when another run moved it first or it was restarted (that one goes on)."""
        values: dict[str, object] = {
            "backfill_cursor": following,
            "backfill_done": CrmSync.backfill_done + read,
        }
        if following is None:
            # Never before its start, or the walk would look under way again.
            values["backfill_finished_at"] = max(self._clock(), started)
            values["backfill_total"] = CrmSync.backfill_done + read
        with self._sessions.begin() as session:
            moved = session.execute(
                update(CrmSync)
                .where(
                    CrmSync.account_pk == account_pk,
                    CrmSync.backfill_started_at == started,
                    # The cursor is None at the start and at the end of a walk.
                    or_(
                        CrmSync.backfill_finished_at.is_(None),
                        CrmSync.backfill_finished_at < started,
                    ),
                    CrmSync.backfill_cursor.is_not_distinct_from(cursor),
                )
                .values(values)
                .execution_options(synchronize_session=False)
            )
        return moved.rowcount == 1  # type: ignore[attr-defined]

    def _forget_unseen(self, account_pk: int, crm: CrmAccount, since: datetime) -> bool:
        """End a walk that started at `since`: records not read since then are
        read once more; those the CRM no longer has are forgotten. True when
        none is left, False when the run's budget ran out first."""
        for _ in range(SWEEP_BATCHES):
            unseen: list[str] = []
            for object_type in crm.scored_types:
                with self._sessions() as session:
                    unseen = list(
                        session.scalars(
                            select(CrmRecord.record_id)
                            .where(
                                CrmRecord.account_pk == account_pk,
                                CrmRecord.object_type == object_type,
                                CrmRecord.read_at < since,
                            )
                            .order_by(CrmRecord.record_id)
                            .limit(BATCH)
                        )
                    )
                if unseen:
                    break
            if not unseen:
                return True
            self._sweep(account_pk, crm, since, object_type, unseen)
        return False

    def _sweep(
        self,
        account_pk: int,
        crm: CrmAccount,
        since: datetime,
        object_type: str,
        unseen: list[str],
    ) -> None:
        """Read unseen records of one type again; forget those gone."""
        read_at = self._clock()
        found = crm.read_contacts([RecordRef(object_type, rid) for rid in unseen])
        if fresh := self._not_newer(account_pk, found, read_at):
            self._score_and_write(account_pk, crm, fresh, [])
        present = {contact.ref.record_id for contact in found}
        with self._sessions.begin() as session:
            # Seen now, even where the write failed again: the sweep ends.
            session.execute(
                update(CrmRecord)
                .where(
                    CrmRecord.account_pk == account_pk,
                    CrmRecord.object_type == object_type,
                    CrmRecord.record_id.in_(present),
                    CrmRecord.read_at < since,
                )
                .values(read_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            gone = [rid for rid in unseen if rid not in present]
            if gone:
                self._forget_records(session, account_pk, gone, object_type)

    def _forget_records(
        self,
        session: Session,
        account_pk: int,
        record_ids: list[str],
        object_type: str = CONTACTS,
    ) -> None:
        """Delete deleted records' rows, score history and snapshots (feedback
        stays: an outcome without an identity still teaches)."""
        account = session.get(AccountRow, account_pk)
        if account is None:
            return
        for record_id in record_ids:
            key = self._keys.for_crm_record(
                account.crm, account.account_id, object_type, record_id
            )
            forget_lead(session, account.client_id, key)
        session.execute(
            delete(CrmRecord).where(
                CrmRecord.account_pk == account_pk,
                CrmRecord.object_type == object_type,
                CrmRecord.record_id.in_(record_ids),
            )
        )


class PortalReconciliation:
    """Starting reconciliations, a mixin of HubSpotApp (which provides these)."""

    _sync: ContactWalks
    _tasks: TaskQueue

    def account_pk(self, account_id: str) -> int:
        raise NotImplementedError

    def installed_pks(self) -> list[int]:
        raise NotImplementedError

    def reconcile(self, account_id: str) -> bool:
        """Read every contact of an installed account again now; False when a
        walk was already under way (it goes on). NotFound if not installed."""
        account_pk = self.account_pk(account_id)
        started = self._sync.start_walk(account_pk)
        # Queued either way: a walk under way whose wake-up was lost resumes.
        self._tasks.enqueue("backfill_account", account_pk=account_pk)
        return started

    def reconcile_all(self) -> list[int]:
        """Start a walk on every installed account whose last walk finished;
        the ids of those started. Each walk runs a few pages per task."""
        started = [pk for pk in self.installed_pks() if self._sync.start_walk(pk)]
        for account_pk in started:
            self._tasks.enqueue("backfill_account", account_pk=account_pk)
        return started
