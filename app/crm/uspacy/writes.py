"""Writing scores to leads and contacts: one PATCH per record (Uspacy has no
batch update that sets different values per record), values checked before
sending, and a record Uspacy refuses (deleted, or a field it will not take)
reported as a WriteFailure while the others are still written.

Errors that stop every call (rate limit, outage, revoked access) are raised;
records written before stay written, and writing them again is harmless.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from app.crm.base import RecordRef, Rejected, ScoreWrite, WriteFailure
from app.crm.uspacy import contract, errors, mapping, values
from app.crm.uspacy.field_specs import SCORED_TYPES
from app.crm.uspacy.portal import PortalApi

Pending = tuple[str, RecordRef, dict[str, Any]]  # (record id, ref, values)


def send_scores(
    api: PortalApi,
    writes: Sequence[ScoreWrite],
    codes: Mapping[str, Mapping[str, str]],
) -> list[WriteFailure]:
    """Send the writes; the records that were not written, each with a reason.
    `codes` are our field codes per object type."""
    failures: list[WriteFailure] = []
    latest: dict[tuple[str, str], Pending] = {}
    for write in writes:
        ref = write.ref
        record_id = values.record_id(ref.record_id)
        if ref.object_type not in SCORED_TYPES or record_id is None:
            failures.append(WriteFailure(ref, "not a Uspacy lead or contact id", False))
            continue
        found = mapping.score_values(write, codes[ref.object_type])
        if isinstance(found, str):
            failures.append(WriteFailure(ref, found, False))
            continue
        # Two writes to one record in a call: only the later one is sent.
        key = (ref.object_type, record_id)
        latest.pop(key, None)
        latest[key] = (record_id, ref, found)
    for record_id, ref, found in latest.values():
        path = contract.RECORD_PATH.format(kind=ref.object_type, record_id=record_id)
        try:
            api.call("PATCH", path, body=found)
        except errors.NotFound:
            failures.append(WriteFailure(ref, "the record no longer exists", False))
        except Rejected as refused:
            failures.append(WriteFailure(ref, refused.message, False))
    return failures
