"""The HubSpot inbox: delivered webhook events stored once each, per installed
portal, for the sync worker — the intake half of "acknowledge fast, work later".

One request is one transaction: events of portals that are not installed and
echoes of our own writes are dropped, the rest inserted with ON CONFLICT DO
NOTHING on (account, dedupe key), so a redelivery or a duplicate stores nothing
new. After the commit the worker is woken once per portal that got new events;
the wake-up is best effort (the inbox is the truth, and a periodic sweep re-queues
what is pending), so it never fails the request.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from app.crm.hubspot.webhooks import IncomingEvent, should_drop
from app.models.base import utcnow
from app.models.crm import INSTALLED, CrmAccount
from app.models.sync import PENDING, CrmEvent
from app.services.tasks import TaskQueue

CRM = "hubspot"
WAKE_TASK = "sync_account"
log = logging.getLogger(__name__)

_EVENTS = CrmEvent.__table__
_INSERTS: dict[str, Callable[..., Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """What became of a delivery's events: stored now, stored before, dropped."""

    stored: int
    duplicates: int
    dropped: int


class PortalCache:
    """Hub id → installed account pk (None: not installed), kept briefly.

    Bounded: at most `size` portals. A portal that is not installed is
    remembered only `absent_seconds`, so a portal that installs a moment later
    is not turned away for long.
    """

    def __init__(
        self, size: int = 10_000, seconds: float = 30.0, absent_seconds: float = 3.0
    ) -> None:
        self._size = size
        self._seconds = seconds
        self._absent_seconds = absent_seconds
        self._entries: dict[str, tuple[int | None, float]] = {}
        self._lock = threading.Lock()

    def known(self, portals: Iterable[str]) -> dict[str, int | None]:
        """The portals whose answer is still fresh."""
        now = time.monotonic()
        found = {}
        with self._lock:
            for portal in portals:
                entry = self._entries.get(portal)
                if entry is not None and entry[1] > now:
                    found[portal] = entry[0]
        return found

    def remember(self, answers: Mapping[str, int | None]) -> None:
        """Keep these answers, evicting the oldest entries when full."""
        now = time.monotonic()
        with self._lock:
            entries = self._entries
            for portal, pk in answers.items():
                entries.pop(portal, None)
                if len(entries) >= self._size:
                    self._evict(now)
                ttl = self._seconds if pk is not None else self._absent_seconds
                entries[portal] = (pk, now + ttl)

    def _evict(self, now: float) -> None:
        entries = self._entries
        for portal in [p for p, (_, until) in entries.items() if until <= now]:
            del entries[portal]
        while len(entries) >= self._size:
            del entries[next(iter(entries))]  # the oldest insertion


class HubSpotInbox:
    """Accepts verified webhook events into the inbox table."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tasks: TaskQueue,
        app_id: str | None,
        *,
        portals: PortalCache | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._tasks = tasks
        self._app_id = app_id
        self._portals = portals or PortalCache()
        self._clock = clock
        self._statements: dict[str, Insert] = {}

    def accept(self, events: Sequence[IncomingEvent]) -> AcceptResult:
        """Store each new event once; returns the counts."""
        dropped = 0
        kept = []
        for event in events:
            if should_drop(event, self._app_id):
                dropped += 1
            else:
                kept.append(event)
        accounts = self._accounts({event.portal_id for event in kept})
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        duplicates = 0
        now = self._clock()
        for event in kept:
            pk = accounts.get(event.portal_id)
            if pk is None:
                dropped += 1
            elif (pk, event.dedupe_key) in rows:
                duplicates += 1
            else:
                rows[(pk, event.dedupe_key)] = _row(pk, event, now)
        if not rows:
            return AcceptResult(0, duplicates, dropped)
        stored_in = self._insert(rows)
        stored = sum(stored_in.values())
        self._wake(stored_in)
        return AcceptResult(stored, duplicates + len(rows) - stored, dropped)

    def _accounts(self, portals: set[str]) -> dict[str, int | None]:
        """Installed account pk per portal (None: unknown or uninstalled)."""
        found = self._portals.known(portals)
        missing = portals - found.keys()
        if missing:
            answers: dict[str, int | None] = dict.fromkeys(missing)
            with self._sessions() as session:
                for account_id, pk, status in session.execute(
                    select(CrmAccount.account_id, CrmAccount.id, CrmAccount.status)
                    .where(CrmAccount.crm == CRM)
                    .where(CrmAccount.account_id.in_(sorted(missing)))
                ):
                    answers[account_id] = pk if status == INSTALLED else None
            self._portals.remember(answers)
            found.update(answers)
        return found

    def _insert(self, rows: dict[tuple[int, str], dict[str, Any]]) -> dict[int, int]:
        """Insert in one transaction; new rows per account pk. Rows go in key
        order, so concurrent deliveries of the same events lock in the same
        order (PostgreSQL would otherwise deadlock them)."""
        stored: dict[int, int] = {}
        with self._sessions.begin() as session:
            statement = self._statement(session.get_bind().dialect.name)
            result = session.execute(statement, [rows[key] for key in sorted(rows)])
            for (pk,) in result:
                stored[pk] = stored.get(pk, 0) + 1
        return stored

    def _statement(self, dialect: str) -> Insert:
        statement = self._statements.get(dialect)
        if statement is None:
            make = _INSERTS.get(dialect)
            if make is None:
                raise RuntimeError(f"the inbox does not support {dialect}")
            statement = (
                make(_EVENTS)
                .on_conflict_do_nothing(index_elements=["account_pk", "dedupe_key"])
                .returning(_EVENTS.c.account_pk)
            )
            self._statements[dialect] = statement
        return statement

    def _wake(self, stored_in: Mapping[int, int]) -> None:
        """Queue one sync per portal with new events, if that task exists yet."""
        tasks = self._tasks
        # The job queue tells its registered names (app/queue.py); until the
        # sync task exists, a wake-up would only log an error per request.
        registered = getattr(tasks, "tasks", None)
        if registered is not None and WAKE_TASK not in registered:
            return
        for pk in sorted(stored_in):
            try:
                tasks.enqueue(WAKE_TASK, account_pk=pk)
            except Exception as error:  # the stored events are safe; the sweep retries
                log.warning(
                    "could not wake the sync of account %s: %s",
                    pk,
                    type(error).__name__,
                )


def _row(pk: int, event: IncomingEvent, now: datetime) -> dict[str, Any]:
    return {
        "account_pk": pk,
        "dedupe_key": event.dedupe_key,
        "kind": event.kind,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "payload": event.payload,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": None,
    }
