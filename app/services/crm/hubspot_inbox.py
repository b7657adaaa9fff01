"""HubSpot webhook deliveries into the shared inbox (app/services/crm/inbox.py):
one delivery carries events of many portals, so each event's portal is looked up
(briefly cached) and events of portals that are not installed, and echoes of our
own writes, are dropped before the rest are stored once each.
"""

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.hubspot.config import CRM
from app.crm.hubspot.webhooks import IncomingEvent, should_drop
from app.models.base import utcnow
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.inbox import AcceptResult, EventInbox
from app.services.tasks import TaskQueue

# The worker task that drains a HubSpot portal's inbox.
WAKE_TASK = "sync_account"


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


class HubSpotInbox(EventInbox):
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
        super().__init__(sessions, tasks, wake_task=WAKE_TASK, clock=clock)
        self._app_id = app_id
        self._portals = portals or PortalCache()

    def accept(self, events: Sequence[IncomingEvent]) -> AcceptResult:
        """Store each new event once; returns the counts."""
        app_id = self._app_id
        kept = [event for event in events if not should_drop(event, app_id)]
        dropped = len(events) - len(kept)
        accounts = self._accounts({event.portal_id for event in kept})
        new: dict[tuple[int, str], IncomingEvent] = {}
        for event in kept:
            pk = accounts.get(event.portal_id)
            if pk is None:
                dropped += 1
            else:
                new.setdefault((pk, event.dedupe_key), event)
        if not new:
            return AcceptResult(0, len(events) - dropped, dropped)
        stored_in = self._insert(new)
        stored = sum(stored_in.values())
        self._wake(stored_in)
        return AcceptResult(stored, len(events) - dropped - stored, dropped)

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
