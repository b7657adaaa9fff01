"""CRM v3 batch routes for contacts, companies and deals: read, update and
create, as HubSpot documents them. Batches take at most 100 inputs; missing ids
give 207 with `errors[]`; one invalid value fails the whole batch with 400."""

from collections import Counter
from typing import Any

from flask import Blueprint, Response, g, jsonify

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.crm import BASE, check_type, json_object
from app.sandbox.hubspot.records import batch_body, missing_error, render
from app.sandbox.hubspot.store import Conflict, NotFound, ValidationFailed

bp = Blueprint("hubspot_crm_batch", __name__)
BATCH_LIMIT = 100


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]] | Response:
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        return errors.validation_error("Invalid input JSON: inputs is required")
    if len(inputs) > BATCH_LIMIT:
        return errors.validation_error(
            f"Too many inputs: {len(inputs)}. The maximum is {BATCH_LIMIT}.",
            context={"max": [str(BATCH_LIMIT)]},
        )
    return inputs


@bp.post(f"{BASE}/batch/read")
def batch_read(object_type: str) -> tuple[Response, int]:
    """Read up to 100 records by id (or email); 207 lists the missing ones."""
    if (bad := check_type(object_type)) is not None:
        return bad, 400
    sb, account, body = sandbox(), g.account, json_object()
    inputs = _inputs(body)
    if isinstance(inputs, Response):
        return inputs, 400
    started = sb.clock.now()
    by_email = body.get("idProperty") == "email" and object_type == "contacts"
    results, missing = [], []
    with sb.store.lock:
        for item in inputs:
            key = str(item.get("id", ""))
            try:
                record = (
                    sb.store.find_by_email(account, key)
                    if by_email
                    else sb.store.get(account, object_type, key)
                )
                if record is None:
                    raise NotFound(key)
            except NotFound:
                missing.append(key)
                continue
            results.append(
                render(
                    sb.store,
                    account,
                    object_type,
                    record,
                    body.get("properties"),
                    body.get("propertiesWithHistory"),
                )
            )
    problems = [missing_error(object_type, missing)] if missing else []
    return jsonify(batch_body(results, problems, started)), 207 if missing else 200


@bp.post(f"{BASE}/batch/update")
def batch_update(object_type: str) -> tuple[Response, int]:
    """Update up to 100 records; values are validated before anything changes."""
    if (bad := check_type(object_type)) is not None:
        return bad, 400
    sb, account = sandbox(), g.account
    inputs = _inputs(json_object())
    if isinstance(inputs, Response):
        return inputs, 400
    ids = [str(item.get("id", "")) for item in inputs]
    duplicates = sorted(i for i, n in Counter(ids).items() if n > 1)
    if duplicates:
        return errors.validation_error(
            f"Duplicate IDs found in batch input: {duplicates}. IDs must be unique"
        ), 400
    started = sb.clock.now()
    results, missing = [], []
    with sb.store.lock:
        problems = []
        for item in inputs:
            try:
                sb.store.validate(
                    account, object_type, item.get("properties") or {}, False
                )
            except ValidationFailed as failure:
                problems += failure.problems
        if problems:
            return errors.invalid_values(problems), 400
        for item in inputs:
            values = item.get("properties") or {}
            try:
                record = sb.store.update(
                    account, object_type, str(item.get("id")), values
                )
            except NotFound:
                missing.append(str(item.get("id")))
                continue
            except Conflict as conflict:
                return errors.error(409, str(conflict), "CONFLICT"), 409
            results.append(
                render(
                    sb.store,
                    account,
                    object_type,
                    record,
                    sorted(set(values) | {"hs_object_id"}),
                )
            )
    errs = [missing_error(object_type, missing, "update")] if missing else []
    return jsonify(batch_body(results, errs, started)), 207 if missing else 200


@bp.post(f"{BASE}/batch/create")
def batch_create(object_type: str) -> tuple[Response, int]:
    """Create up to 100 records; the first conflict or bad value fails the batch."""
    if (bad := check_type(object_type)) is not None:
        return bad, 400
    sb, account = sandbox(), g.account
    inputs = _inputs(json_object())
    if isinstance(inputs, Response):
        return inputs, 400
    started = sb.clock.now()
    with sb.store.lock:
        problems = []
        for item in inputs:
            try:
                sb.store.validate(
                    account, object_type, item.get("properties") or {}, False
                )
            except ValidationFailed as failure:
                problems += failure.problems
        if problems:
            return errors.invalid_values(problems), 400
        results = []
        for item in inputs:
            try:
                record = sb.store.create(
                    account, object_type, item.get("properties") or {}
                )
            except Conflict as conflict:
                return errors.error(409, str(conflict), "CONFLICT"), 409
            results.append(
                render(sb.store, account, object_type, record, list(record.properties))
            )
    return jsonify(batch_body(results, [], started)), 201
