"""CRM v3 object routes for contacts and deals: get, list with `after` paging,
create, update, archive, and batch read/update/create, as HubSpot documents them.
Batches take at most 100 inputs; missing ids give 207 with `errors[]`;
one invalid value fails the whole batch with 400."""

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from app.sandbox.hubspot import errors, search
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.records import batch_body, missing_error, render, requested
from app.sandbox.hubspot.store import Conflict, NotFound, ValidationFailed

bp = Blueprint("hubspot_crm", __name__)
BASE = "/crm/v3/objects/<object_type>"
BATCH_LIMIT = 100
LIST_LIMIT = 100


def _check_type(object_type: str) -> Response | None:
    if object_type not in ("contacts", "deals"):
        return errors.validation_error(
            f"Unable to infer object type from: {object_type}"
        )
    return None


def _json() -> dict[str, Any]:
    return request.get_json(silent=True) or {}


@bp.get(BASE)
def list_objects(object_type: str) -> Response:
    """One page of live records in id order; `after` is the next id."""
    if (bad := _check_type(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    limit = int(request.args.get("limit", 10))
    if not 1 <= limit <= LIST_LIMIT:
        return errors.validation_error(f"limit must be between 1 and {LIST_LIMIT}")
    after = int(request.args.get("after") or 0)
    archived = request.args.get("archived", "false") == "true"
    with sb.store.lock:
        records = sorted(
            (
                r
                for r in account.objects[object_type].values()
                if r.archived == archived and int(r.id) >= after
            ),
            key=lambda r: int(r.id),
        )
        page = records[:limit]
        body: dict[str, Any] = {
            "results": [
                render(
                    sb.store,
                    account,
                    object_type,
                    r,
                    requested("properties"),
                    requested("propertiesWithHistory"),
                    requested("associations"),
                )
                for r in page
            ]
        }
    if len(records) > limit:
        nxt = records[limit].id
        body["paging"] = {
            "next": {"after": nxt, "link": (f"{request.base_url}?after={nxt}")}
        }
    return jsonify(body)


@bp.post(BASE)
def create_object(object_type: str) -> tuple[Response, int] | Response:
    """Create one record, optionally associated on creation."""
    if (bad := _check_type(object_type)) is not None:
        return bad
    sb, account, body = sandbox(), g.account, _json()
    try:
        record = sb.store.create(account, object_type, body.get("properties") or {})
    except ValidationFailed as failure:
        return errors.invalid_values(failure.problems)
    except Conflict as conflict:
        return errors.error(409, str(conflict), "CONFLICT")
    for link in body.get("associations") or []:
        other = str((link.get("to") or {}).get("id", ""))
        try:
            if object_type == "deals":
                sb.store.associate(account, record.id, other)
            else:
                sb.store.associate(account, other, record.id)
        except NotFound:
            return errors.validation_error(f"Object {other} to associate was not found")
    return jsonify(
        render(sb.store, account, object_type, record, list(record.properties))
    ), 201


def _lookup(object_type: str, object_id: str):
    sb, account = sandbox(), g.account
    if request.args.get("idProperty") == "email" and object_type == "contacts":
        record = sb.store.find_by_email(account, object_id)
        if record is None:
            raise NotFound(object_id)
        return record
    return sb.store.get(account, object_type, object_id)


@bp.route(f"{BASE}/<object_id>", methods=["GET", "PATCH", "DELETE"])
def one_object(object_type: str, object_id: str) -> Response:
    """Read, update or archive one record."""
    if (bad := _check_type(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    try:
        record = _lookup(object_type, object_id)
        if request.method == "DELETE":
            sb.store.archive(account, object_type, record.id, "INTEGRATION")
            return Response(status=204)
        if request.method == "PATCH":
            values = _json().get("properties") or {}
            record = sb.store.update(account, object_type, record.id, values)
            return jsonify(
                render(
                    sb.store,
                    account,
                    object_type,
                    record,
                    sorted(set(values) | {"hs_object_id"}),
                )
            )
    except NotFound:
        return errors.not_found()
    except ValidationFailed as failure:
        return errors.invalid_values(failure.problems)
    except Conflict as conflict:
        return errors.error(409, str(conflict), "CONFLICT")
    with sb.store.lock:
        return jsonify(
            render(
                sb.store,
                account,
                object_type,
                record,
                requested("properties"),
                requested("propertiesWithHistory"),
                requested("associations"),
            )
        )


def _inputs(body: dict[str, Any]) -> list[dict[str, Any]] | Response:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
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
    if (bad := _check_type(object_type)) is not None:
        return bad, 400
    sb, account, body = sandbox(), g.account, _json()
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
    if (bad := _check_type(object_type)) is not None:
        return bad, 400
    sb, account = sandbox(), g.account
    inputs = _inputs(_json())
    if isinstance(inputs, Response):
        return inputs, 400
    ids = [str(item.get("id", "")) for item in inputs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
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
    if (bad := _check_type(object_type)) is not None:
        return bad, 400
    sb, account = sandbox(), g.account
    inputs = _inputs(_json())
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


bp.add_url_rule(f"{BASE}/search", view_func=search.search_view, methods=["POST"])
