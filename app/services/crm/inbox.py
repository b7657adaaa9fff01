"""The inbox: delivered webhook events stored once each, per installed account,
for the sync worker — the intake half of "acknowledge fast, work later".
`EventInbox.store` takes any CRM's events for one account (`InboxEvent`); each
CRM's intake finds the account first (app/services/crm/hubspot_inbox.py,
uspacy_events.py).

One request is one transaction: events of portals that are not installed and
echoes of our own writes are dropped, the rest inserted with ON CONFLICT DO
NOTHING on (account, dedupe key), so a redelivery or a duplicate stores nothing
new. After the commit the worker is woken once per portal that got new events;
the wake-up is best effort (the inbox is the truth, and a periodic sweep re-queues
what is pending), so it never fails the request.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker

from app.db import conflict_insert
from app.models.base import utcnow
from app.models.sync import PENDING, CrmEvent
from app.services.tasks import TaskQueue

log = logging.getLogger(__name__)

_EVENTS = CrmEvent.__table__


@dataclass(frozen=True, slots=True)
class InboxEvent:
    """One event as the inbox stores it (a CRM's own event type may stand in
    with the same attributes): `kind` says what the worker does with it, e.g.
    record.change."""

    kind: str
    object_type: str
    object_id: str | None
    occurred_at: datetime
    dedupe_key: str  # at most 64 characters, unique per account
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AcceptResult:
    """What became of a delivery's events: stored now, stored before, dropped."""

    stored: int
    duplicates: int
    dropped: int


class EventInbox:
    """Stores one account's events, once each, and wakes its sync task."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        tasks: TaskQueue,
        *,
        wake_task: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessions = sessions
        self._tasks = tasks
        self._wake_task = wake_task
        self._clock = clock
        self._statements: dict[str, _CompiledInsert] = {}

    def store(self, account_pk: int, events: Sequence[Any]) -> AcceptResult:
        """Store the account's new events (each like `InboxEvent`); a dedupe key
        seen before stores nothing. Nothing is dropped here."""
        new = {(account_pk, event.dedupe_key): event for event in reversed(events)}
        if not new:
            return AcceptResult(0, 0, 0)
        stored_in = self._insert(new)
        stored = sum(stored_in.values())
        self._wake(stored_in)
        return AcceptResult(stored, len(events) - stored, 0)

    def _insert(self, new: dict[tuple[int, str], Any]) -> dict[int, int]:
        """Insert in one transaction; returns the new rows per account pk.

        Rows go in key order, so concurrent deliveries of the same events lock
        in the same order (PostgreSQL would otherwise deadlock them). The
        statement is SQLAlchemy's dialect insert compiled once and run as one
        driver-level executemany: per-row parameter handling in SQLAlchemy
        would cost more than the insert itself.
        """
        stored: dict[int, int] = {}
        now = self._clock()
        with self._sessions.begin() as session:
            connection = session.connection()
            insert = self._statement(connection.dialect)
            by_account: dict[int, list[Any]] = {}
            for key in sorted(new):
                by_account.setdefault(key[0], []).append(new[key])
            for pk, events in by_account.items():
                result = connection.exec_driver_sql(
                    insert.sql, insert.parameters(pk, events, now)
                )
                if result.rowcount > 0:
                    stored[pk] = result.rowcount
        return stored

    def _statement(self, dialect: Dialect) -> "_CompiledInsert":
        compiled = self._statements.get(dialect.name)
        if compiled is None:
            compiled = _CompiledInsert(dialect)
            self._statements[dialect.name] = compiled
        return compiled

    def _wake(self, stored_in: Mapping[int, int]) -> None:
        """Queue one sync per portal with new events, if that task exists yet."""
        tasks = self._tasks
        # The job queue tells its registered names (app/queue.py); until the
        # sync task exists, a wake-up would only log an error per request.
        registered = getattr(tasks, "tasks", None)
        if registered is not None and self._wake_task not in registered:
            return
        for pk in sorted(stored_in):
            try:
                tasks.enqueue(self._wake_task, account_pk=pk)
            except Exception as error:  # the stored events are safe; the sweep retries
                log.warning(
                    "could not wake the sync of account %s: %s",
                    pk,
                    type(error).__name__,
                )


class _CompiledInsert:
    """INSERT … ON CONFLICT (account_pk, dedupe_key) DO NOTHING for one dialect.

    Values go through the column types' own conversions, so rows are stored
    exactly as the ORM stores them (SQLite keeps datetimes as text and compares
    them as text); the payload is JSON text.
    """

    def __init__(self, dialect: Dialect) -> None:
        make = conflict_insert(dialect.name)
        columns = [column.name for column in _EVENTS.columns if column.name != "id"]
        statement = (
            make(_EVENTS)
            .inline()  # no RETURNING of the generated ids
            .values({name: bindparam(name) for name in columns})
            .on_conflict_do_nothing(index_elements=["account_pk", "dedupe_key"])
        )
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self._positions = compiled.positiontup  # None: named parameters
        identity: Callable[[Any], Any] = _same
        self._convert = {
            name: _EVENTS.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            or identity
            for name in columns
        }
        self._convert["payload"] = _json_text

    def parameters(self, pk: int, events: Sequence[Any], now: datetime) -> list[Any]:
        """The rows of one account's new events, in the driver's form."""
        convert = self._convert
        shared = {
            "account_pk": pk,
            "received_at": now,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": None,
        }
        shared = {name: convert[name](value) for name, value in shared.items()}
        dedupe_key, kind = convert["dedupe_key"], convert["kind"]
        object_type, object_id = convert["object_type"], convert["object_id"]
        occurred_at = convert["occurred_at"]
        rows = [
            {
                **shared,
                "dedupe_key": dedupe_key(event.dedupe_key),
                "kind": kind(event.kind),
                "object_type": object_type(event.object_type),
                "object_id": object_id(event.object_id),
                "payload": _json_text(event.payload),
                "occurred_at": occurred_at(event.occurred_at),
            }
            for event in events
        ]
        positions = self._positions
        if positions is None:
            return rows
        return [tuple(map(row.__getitem__, positions)) for row in rows]


def _same(value: Any) -> Any:
    return value


def _json_text(value: Any) -> str:
    return orjson.dumps(value).decode()
