"""HubSpot's search index, which trails the records (eventual consistency).

Every write queues a snapshot of the record that search sees only once the
portal's `search_index_delay` has passed on the sandbox clock; until then search
finds the previous snapshot (stale values, a deleted record still found) or
nothing (a new record). Reads by id never look here.

Snapshots share the record's properties dict: the store replaces that dict on
every write instead of changing it, so a snapshot costs no copy. The visible ids
are kept sorted, so a search narrowed by `hs_object_id` reads only its range.
"""

import heapq
import itertools
from bisect import bisect_left, insort
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.sandbox.hubspot.model import Record

# Writes waiting for the index across one object type of one portal; beyond
# this the oldest become visible early (the index would have caught up anyway).
MAX_PENDING = 100_000


class SearchIndex:
    """What search sees of one object type in one portal."""

    def __init__(self) -> None:
        self.visible: dict[int, Record] = {}
        self.ids: list[int] = []
        self._pending: list[tuple[float, int, int, Record | None]] = []
        self._seq = itertools.count()
        self._shown: dict[int, int] = {}

    def note(self, record: "Record", visible_at: float) -> None:
        """Queue the record's current state for search, visible from `visible_at`."""
        # The record's own class builds the snapshot (model.py imports this one).
        snapshot = (
            None
            if record.archived
            else type(record)(
                record.id, record.properties, record.created_at, record.updated_at
            )
        )
        entry = (visible_at, next(self._seq), int(record.id), snapshot)
        heapq.heappush(self._pending, entry)
        if len(self._pending) > MAX_PENDING:
            self._show(*heapq.heappop(self._pending))

    def catch_up(self, now: float) -> None:
        """Make every write due by `now` visible."""
        pending = self._pending
        while pending and pending[0][0] <= now:
            self._show(*heapq.heappop(pending))

    def flush(self) -> None:
        """Make every queued write visible now."""
        while self._pending:
            self._show(*heapq.heappop(self._pending))

    def _show(
        self, _at: float, seq: int, record_id: int, snapshot: "Record | None"
    ) -> None:
        # A later write that became visible first (the delay was shortened)
        # is never replaced by an older one.
        if self._shown.get(record_id, -1) > seq:
            return
        self._shown[record_id] = seq
        if snapshot is None:
            if self.visible.pop(record_id, None) is not None:
                del self.ids[bisect_left(self.ids, record_id)]
            return
        if record_id not in self.visible:
            insort(self.ids, record_id)
        self.visible[record_id] = snapshot
