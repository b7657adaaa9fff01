"""What POST /leads scored, recorded off the hot path into score history.

A request hands its whole batch to the recorder, which only appends it to a list; a
background thread hashes the lead emails with the deployment's key and writes the
leads whose score changed (score history plus the current snapshot) in bulk.
Feedback without factors then finds what the lead looked like when it was scored.

Recording is best effort: when more than `max_pending` leads wait, the OLDEST
pending batches are dropped (the newest say more about a lead), counted, and the
count is logged with the next flush. The thread has an explicit lifecycle: the
process that serves requests starts it (gunicorn's post_fork hook) and stops it,
flushing, on exit (worker_exit).
"""

import logging
import threading
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.services.keys import LeadKeys
from app.services.scoring.configs import ClientConfig
from app.services.scoring.history import ScoredLead, record_scores

log = logging.getLogger(__name__)

_CHUNK = 2_000  # leads per write transaction

# (client config, scored (email, score, values) of one request, scoring time)
_Batch = tuple[ClientConfig, Sequence[tuple[str, int, Sequence[float]]], float]


class ScoreRecorder:
    """Buffers scored batches in memory and writes them in the background."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        lead_keys: LeadKeys,
        flush_interval: float = 2.0,
        max_pending: int = 100_000,
    ) -> None:
        self._sessions = sessions
        self._lead_keys = lead_keys
        self._interval = flush_interval
        self._max_pending = max_pending
        self._pending: deque[_Batch] = deque()
        self._pending_leads = 0
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.dropped = 0  # leads dropped since start, for operators and metrics
        self._dropped_unlogged = 0

    def record(
        self,
        config: ClientConfig,
        scored: Sequence[tuple[str, int, Sequence[float]]],
        now: float,
    ) -> None:
        """Queue one request's scores; never blocks on the database."""
        size = len(scored)
        with self._lock:
            self._pending.append((config, scored, now))
            self._pending_leads += size
            if self._pending_leads > self._max_pending // 2:
                self._wake.set()  # flush early rather than drop under load
            while self._pending_leads > self._max_pending and len(self._pending) > 1:
                _, oldest, _ = self._pending.popleft()
                self._pending_leads -= len(oldest)
                self.dropped += len(oldest)
                self._dropped_unlogged += len(oldest)

    def flush(self) -> int:
        """Write everything pending now; returns how many leads changed score."""
        with self._flush_lock:
            with self._lock:
                batches, self._pending = self._pending, deque()
                self._pending_leads = 0
                dropped, self._dropped_unlogged = self._dropped_unlogged, 0
            if dropped:
                log.warning(
                    "score recorder overloaded: dropped %d pending leads "
                    "(%d since start); their outcomes need factors",
                    dropped,
                    self.dropped,
                )
            rows = self._rows(batches)
            written = 0
            try:
                for start in range(0, len(rows), _CHUNK):
                    with self._sessions.begin() as session:
                        written += record_scores(session, rows[start : start + _CHUNK])
            except SQLAlchemyError:
                log.exception("could not record %d scored leads", len(rows) - start)
            return written

    def start(self) -> None:
        """Start the background writer (once per serving process)."""
        with self._lock:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(
                target=self._run, name="score-recorder", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the background writer and write what is pending."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
        self.flush()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the writer must outlive any one bad batch
                log.exception("score recorder flush failed")

    def _rows(self, batches: Sequence[_Batch]) -> list[ScoredLead]:
        # Newest first, so a lead scored several times is hashed and compared once,
        # with its latest score; history keeps what changed between flushes.
        key_of = self._lead_keys.for_lead_id
        seen: set[tuple[str, str]] = set()
        rows = []
        for config, scored, now in reversed(batches):
            client_id = config.client_id
            at = None
            for email, score, values in reversed(scored):
                if not email or (client_id, email) in seen:
                    continue
                seen.add((client_id, email))
                at = at or datetime.fromtimestamp(now, UTC)
                rows.append(
                    ScoredLead(
                        client_id,
                        key_of(email),
                        tuple(values),
                        score,
                        config.encoder.labels[score],
                        config.version,
                        at,
                    )
                )
        rows.reverse()  # oldest first, as record_scores expects (the last one wins)
        return rows
