"""Deal outcomes from HubSpot's pipeline metadata: a stage is closed-won when
`isClosed` is "true" and `probability` is 1.0, closed-lost when it is 0.0, and
open otherwise. Stage ids are classified per account from its pipelines, which
are cached and fetched again when a deal sits in a stage not seen yet; one
book per account is kept across tasks (StageBooks).
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from app.crm.base import Outcome

# HubSpot allows 100 stages per pipeline; this bounds the cache whatever it sends.
MAX_STAGES = 10_000
MAX_UNKNOWN_STAGES = 1_000
# Returns the account's pipelines as (pipeline id, stage id, metadata) rows.
Fetch = Callable[[], Iterable[tuple[str, str, Any]]]


def outcome_of(metadata: Any) -> Outcome:
    """won / lost / open from a stage's metadata strings."""
    if not isinstance(metadata, dict):
        return "open"
    if str(metadata.get("isClosed", "")).strip().lower() != "true":
        return "open"
    try:
        probability = float(str(metadata.get("probability", "")).strip())
    except ValueError:
        return "open"
    if not math.isfinite(probability):
        return "open"
    if probability == 1.0:
        return "won"
    if probability == 0.0:
        return "lost"
    return "open"


class StageBook:
    """Stage id → (pipeline id, outcome) for one account.

    `fetch` returns the account's pipelines as `(pipeline_id, stage_id,
    metadata)` rows. A stage still unknown after a fetch is remembered, so a deal
    in a deleted stage does not refetch the pipelines on every read.
    """

    def __init__(self, fetch: Fetch | None = None) -> None:
        self._fetch = fetch
        self._stages: dict[str, tuple[str, Outcome]] | None = None
        self._unknown: set[str] = set()
        self._lock = threading.Lock()

    def classify(
        self, stage_id: str, fetch: Fetch | None = None
    ) -> tuple[str | None, Outcome]:
        """The stage's pipeline and outcome; (None, "open") for an unknown stage.
        `fetch` replaces the book's own: a book kept across adapters fetches
        through the adapter asking."""
        with self._lock:
            known = self._stages
        if known is None or (stage_id not in known and stage_id not in self._unknown):
            known = self._reload(fetch or self._fetch)
            if stage_id not in known:
                with self._lock:
                    if len(self._unknown) >= MAX_UNKNOWN_STAGES:
                        self._unknown.clear()
                    self._unknown.add(stage_id)
        return known.get(stage_id, (None, "open"))

    def _reload(self, fetch: Fetch | None) -> dict[str, tuple[str, Outcome]]:
        if fetch is None:
            raise ValueError("no way to fetch the pipelines was given")
        stages: dict[str, tuple[str, Outcome]] = {}
        for pipeline_id, stage_id, metadata in fetch():
            if len(stages) >= MAX_STAGES:
                break
            stages[stage_id] = (pipeline_id, outcome_of(metadata))
        with self._lock:
            self._stages = stages
            self._unknown.clear()
        return stages


class StageBooks:
    """One `StageBook` per account, kept across tasks so a portal's pipelines are
    fetched once, not per task. Bounded: at most `size` accounts, the least
    recently used dropped first; a book older than `seconds` starts afresh, so a
    stage whose meaning was edited in the CRM is read again."""

    def __init__(self, size: int = 10_000, seconds: float = 900.0) -> None:
        self._size = size
        self._seconds = seconds
        self._books: OrderedDict[int, tuple[StageBook, float]] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, account_pk: int) -> StageBook:
        """The account's book."""
        now = time.monotonic()
        with self._lock:
            entry = self._books.pop(account_pk, None)
            if entry is None or entry[1] <= now:
                entry = (StageBook(), now + self._seconds)
            self._books[account_pk] = entry
            while len(self._books) > self._size:
                self._books.popitem(last=False)
            return entry[0]
