"""Factor snapshots of scored leads, recorded off the hot path.

POST /leads hands each batch's (email, factor values) to the recorder, which only
stores them in a dict; a background thread hashes the emails with the deployment's
key and upserts them in bulk. Feedback without factors then finds what the lead
looked like when it was scored. Snapshots are best effort: under overload the oldest
pending ones are dropped rather than slowing scoring down.
"""

import atexit
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import LeadSnapshot
from app.models.base import utcnow
from app.services.learning.config import lead_key

log = logging.getLogger(__name__)

_CHUNK = 500


class SnapshotRecorder:
    """Buffers snapshots in memory and writes them in the background."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        secret: str,
        flush_interval: float = 2.0,
        max_pending: int = 100_000,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._interval = flush_interval
        self._max_pending = max_pending
        self._pending: dict[tuple[str, str], Sequence[float]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self.dropped = 0

    def record(
        self, client_id: str, scored: Iterable[tuple[str, Sequence[float]]]
    ) -> None:
        """Remember the latest factor values per (client, lead email)."""
        with self._lock:
            pending = self._pending
            for email, values in scored:
                if len(pending) >= self._max_pending:
                    self.dropped += 1
                    continue
                pending[(client_id, email)] = values
            if self._thread is None and not self._stopped:
                self._start()

    def flush(self) -> int:
        """Write everything pending now; returns how many snapshots were written."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0
        now = utcnow()
        rows = [
            {
                "client_id": client_id,
                "lead_key": lead_key(self._secret, email),
                "factor_values": list(values),
                "scored_at": now,
            }
            for (client_id, email), values in batch.items()
        ]
        try:
            with self._sessions.begin() as session:
                insert = _upsert_for(session)
                for start in range(0, len(rows), _CHUNK):
                    statement = insert(LeadSnapshot).values(
                        rows[start : start + _CHUNK]
                    )
                    statement = statement.on_conflict_do_update(
                        index_elements=["client_id", "lead_key"],
                        set_={
                            "factor_values": statement.excluded.factor_values,
                            "scored_at": statement.excluded.scored_at,
                        },
                    )
                    session.execute(statement)
        except SQLAlchemyError:
            log.exception("could not write %d lead snapshots", len(rows))
            return 0
        return len(rows)

    def close(self) -> None:
        """Write what is pending and stop the background writer."""
        self._stopped = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)
            atexit.unregister(self.flush)
        self.flush()

    def _start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="snapshot-recorder", daemon=True
        )
        self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while not self._stopped:
            self._wake.wait(self._interval)
            self._wake.clear()
            self.flush()


def _upsert_for(session: Session) -> Callable[..., Any]:
    """The dialect's INSERT that supports ON CONFLICT DO UPDATE."""
    dialect = session.get_bind().dialect.name
    return postgresql.insert if dialect == "postgresql" else sqlite.insert
