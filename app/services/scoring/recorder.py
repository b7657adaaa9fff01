"""What POST /leads scored, recorded off the hot path into score history.

A request hands its scores to the recorder, which keeps only the latest score of
each (client, lead) in a dict — a lead scored again before the next write replaces
its pending entry, so memory follows the number of distinct leads, not requests. A
background thread hashes the lead emails with the deployment's key and writes the
leads whose score changed (score history plus the current snapshot) in bulk.
Feedback without factors then finds what the lead looked like when it was scored;
the time recorded is that of the latest score before a write (writes come every
`flush_interval` seconds, sooner under load).

Recording is best effort: when more than `max_pending` leads, or more than
`max_pending_bytes` of them (lead emails are the caller's text), wait (a slow or
unreachable database), the leads that waited longest are dropped — the newest say
more about a lead — counted, and the count is logged with the next write. The
thread has an explicit lifecycle: the process that serves requests starts it (a
gunicorn hook, app/gunicorn_conf.py) and stops it, writing what is pending, when
the worker exits.
"""

import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.services.keys import LeadKeys
from app.services.scoring.configs import ClientConfig
from app.services.scoring.history import ScoredLead, record_scores

log = logging.getLogger(__name__)

_CHUNK = 2_000  # leads per write transaction
# Memory of one pending lead besides its email's characters (key and value tuples,
# factor values, the dict slot, the string's header): ~430 bytes measured on
# CPython 3.11, rounded up so the estimate stays above the truth.
_ENTRY_BYTES = 512
_CHAR_BYTES = 4  # the widest a str stores a character in

# (client id, lead email) -> (score, factor values, scoring time, client config)
_Pending = dict[tuple[str, str], tuple[int, Sequence[float], float, ClientConfig]]


class ScoreRecorder:
    """Buffers the latest score per lead in memory and writes in the background."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        lead_keys: LeadKeys,
        flush_interval: float = 2.0,
        max_pending: int = 100_000,
        max_pending_bytes: int = 16 * 2**20,
    ) -> None:
        self._sessions = sessions
        self._lead_keys = lead_keys
        self._interval = flush_interval
        self._max_pending = max_pending
        # Trimming copies the dict, so it waits for this much excess: amortised
        # O(1) per lead even under sustained overload.
        self._slack = max(1, max_pending // 4)
        self._max_bytes = max_pending_bytes
        self._byte_slack = max_pending_bytes // 4
        # Estimated from above: a new entry counts with the longest email of its
        # batch (a lead scored again costs nothing new); a trim counts exactly.
        self._bytes = 0
        self._pending: _Pending = {}
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
        """Keep the latest score of each lead with an email; never touches the
        database."""
        client_id = config.client_id
        with self._lock:
            pending = self._pending
            before = len(pending)
            longest = 0
            for email, score, values in scored:
                if email:
                    pending[(client_id, email)] = (score, values, now, config)
                    if len(email) > longest:
                        longest = len(email)
            size = len(pending)
            self._bytes += (size - before) * (_ENTRY_BYTES + _CHAR_BYTES * longest)
            if size > self._max_pending // 2 or self._bytes > self._max_bytes // 2:
                self._wake.set()  # write early rather than drop under load
            if (
                size > self._max_pending + self._slack
                or self._bytes > self._max_bytes + self._byte_slack
            ):
                self._trim()

    def flush(self) -> int:
        """Write everything pending now; returns how many leads changed score."""
        with self._flush_lock:
            with self._lock:
                pending, self._pending = self._pending, {}
                self._bytes = 0
                dropped, self._dropped_unlogged = self._dropped_unlogged, 0
            if dropped:
                log.warning(
                    "score recorder overloaded: dropped %d pending leads "
                    "(%d since start); their outcomes need factors",
                    dropped,
                    self.dropped,
                )
            rows = self._rows(pending)
            written = 0
            start = 0
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

    def _trim(self) -> None:
        """Keep the newest leads within both bounds (caller holds the lock)."""
        pending = self._pending
        kept = kept_bytes = 0
        for _, email in reversed(pending):
            cost = _ENTRY_BYTES + _CHAR_BYTES * len(email)
            if kept == self._max_pending or kept_bytes + cost > self._max_bytes:
                break
            kept += 1
            kept_bytes += cost
        excess = len(pending) - kept
        if excess:
            self._pending = dict(islice(pending.items(), excess, None))
            self.dropped += excess
            self._dropped_unlogged += excess
        self._bytes = kept_bytes

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # the writer must outlive any one bad batch
                log.exception("score recorder flush failed")

    def _rows(self, pending: _Pending) -> list[ScoredLead]:
        key_of = self._lead_keys.for_lead_id
        return [
            ScoredLead(
                client_id,
                key_of(email),
                tuple(values),
                score,
                config.encoder.labels[score],
                config.version,
                datetime.fromtimestamp(now, UTC),
            )
            for (client_id, email), (score, values, now, config) in pending.items()
        ]
