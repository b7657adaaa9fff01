"""Writing scores to contacts in batches of at most 100: values checked before
sending (one bad value makes HubSpot refuse the whole batch), and a 207 answer
turned into one WriteFailure per record that was not written."""

from collections.abc import Sequence
from typing import Any

from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from app.crm.base import RecordRef, Rejected, ScoreWrite, WriteFailure
from app.crm.hubspot import errors, mapping, paths
from app.crm.hubspot.sdk import AccountApis

BATCH_LIMIT = 100
# 207 error categories for which sending the same write again cannot help.
PERMANENT_CATEGORIES = {"OBJECT_NOT_FOUND", "VALIDATION_ERROR", "CONFLICT"}

Pending = tuple[str, RecordRef, dict[str, str]]  # (record id, ref, values)


def send_scores(apis: AccountApis, writes: Sequence[ScoreWrite]) -> list[WriteFailure]:
    """Send the writes; the records that were not written, each with a reason."""
    failures: list[WriteFailure] = []
    latest: dict[str, Pending] = {}
    for write in writes:
        ref = write.ref
        record_id = mapping.record_id_of(ref.record_id)
        if ref.object_type != paths.CONTACTS or record_id is None:
            failures.append(WriteFailure(ref, "not a HubSpot contact id", False))
            continue
        values = mapping.score_properties(write)
        if isinstance(values, str):
            failures.append(WriteFailure(ref, values, False))
            continue
        # HubSpot refuses a batch naming one id twice; the later write wins.
        latest.pop(record_id, None)
        latest[record_id] = (record_id, ref, values)
    pending = list(latest.values())
    for start in range(0, len(pending), BATCH_LIMIT):
        failures += _write_batch(apis, pending[start : start + BATCH_LIMIT])
    return failures


def _write_batch(apis: AccountApis, batch: list[Pending]) -> list[WriteFailure]:
    body = BatchInputSimplePublicObjectBatchInput(
        inputs=[
            SimplePublicObjectBatchInput(id=record_id, properties=values)
            for record_id, _ref, values in batch
        ]
    )
    try:
        answer, status = apis.call(
            "contacts_batch",
            "update",
            batch_input_simple_public_object_batch_input=body,
        )
    except Rejected as refused:
        # The whole batch was refused (e.g. our properties were deleted).
        return [WriteFailure(ref, refused.message, False) for _, ref, _ in batch]
    if status != 207:
        return []
    written = {str(record.id) for record in answer.results or []}
    reasons, fallback = _reasons_by_id(answer.errors or [])
    return [
        WriteFailure(ref, *reasons.get(record_id, fallback))
        for record_id, ref, _ in batch
        if record_id not in written
    ]


def _reasons_by_id(
    problems: list[Any],
) -> tuple[dict[str, tuple[str, bool]], tuple[str, bool]]:
    """(reason, retryable) per record id a 207's errors name, and the first
    reason for records no error names."""
    reasons: dict[str, tuple[str, bool]] = {}
    fallback: tuple[str, bool] | None = None
    for problem in problems:
        category = str(getattr(problem, "category", "") or "ERROR")
        reason = errors.scrub(f"{category}: {getattr(problem, 'message', '') or ''}")
        retryable = category not in PERMANENT_CATEGORIES
        context = getattr(problem, "context", None)
        ids = context.get("ids") if isinstance(context, dict) else None
        for record_id in ids if isinstance(ids, list) else []:
            reasons.setdefault(str(record_id), (reason, retryable))
        fallback = fallback or (reason, retryable)
    return reasons, fallback or ("not written (no reason given)", True)
