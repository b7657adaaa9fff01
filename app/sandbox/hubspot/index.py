"""HubSpot's search index, which trails the records (eventual consistency).

Every write queues a snapshot of the record that search sees only once the
portal's `search_index_delay` has passed on the sandbox clock; until then search
finds the previous snapshot (stale values, a deleted record still found) or
nothing (a new record). Reads by id never look here.
"""

from dataclasses import replace

from app.sandbox.hubspot.model import Account, Record

# Snapshots still waiting per record; a burst of edits beyond this drops the
# oldest waiting ones (the index would have coalesced them anyway).
MAX_PENDING = 20


def note_write(record: Record, now: float, delay: float) -> None:
    """Queue the record's current state for search, visible `delay` s from now."""
    snapshot = replace(
        record, properties=dict(record.properties), history={}, indexed=[]
    )
    versions = record.indexed
    versions.append((now + delay, snapshot))
    _prune(versions, now)


def _prune(versions: list[tuple[float, Record]], now: float) -> None:
    visible = [i for i, (at, _) in enumerate(versions) if at <= now]
    if visible and visible[-1] > 0:
        del versions[: visible[-1]]
    first_pending = 1 if visible else 0
    while len(versions) - first_pending > MAX_PENDING:
        del versions[first_pending]


def searchable(record: Record, now: float) -> Record | None:
    """What search sees of the record now: its last indexed snapshot, if live."""
    for at, snapshot in reversed(record.indexed):
        if at <= now:
            return None if snapshot.archived else snapshot
    return None


def flush(account: Account, now: float) -> None:
    """Let search catch up with every record of the account at once."""
    for records in account.objects.values():
        for record in records.values():
            if record.indexed:
                record.indexed[:] = [(now, record.indexed[-1][1])]
