"""CRM v3 object routes for contacts and deals: get, list with `after` paging,
create, update and archive, as HubSpot documents them (batches: `crm_batch.py`,
search: `search.py`)."""

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, request

from app.sandbox.hubspot import errors, search
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.records import (
    decode_cursor,
    encode_cursor,
    render,
    requested,
)
from app.sandbox.hubspot.store import Conflict, NotFound, ValidationFailed

bp = Blueprint("hubspot_crm", __name__)
BASE = "/crm/v3/objects/<object_type>"
LIST_LIMIT = 100


def check_type(object_type: str) -> Response | None:
    if object_type not in ("contacts", "deals"):
        return errors.validation_error(
            f"Unable to infer object type from: {object_type}"
        )
    return None


def json_object() -> dict[str, Any]:
    """The request's JSON object ({} when absent or not an object)."""
    found = request.get_json(silent=True)
    return found if isinstance(found, dict) else {}


@bp.get(BASE)
def list_objects(object_type: str) -> Response:
    """One page of live records in numeric id order; `after` is an opaque cursor
    (400 when it is not one of ours: the stricter guess)."""
    if (bad := check_type(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    limit = _int_arg("limit", 10)
    if limit is None or not 1 <= limit <= LIST_LIMIT:
        return errors.validation_error(f"limit must be between 1 and {LIST_LIMIT}")
    after = decode_cursor(request.args.get("after"))
    if after is None:
        return errors.validation_error(
            f"Invalid paging cursor: after={request.args.get('after')!r}"
        )
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
        cursor = encode_cursor(records[limit].id)
        body["paging"] = {
            "next": {
                "after": cursor,
                "link": f"{request.base_url}?{urlencode({'after': cursor})}",
            }
        }
    return jsonify(body)


def _int_arg(name: str, default: int) -> int | None:
    """A small non-negative integer query parameter, or None when malformed."""
    raw = request.args.get(name)
    if raw is None:
        return default
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 6 else None


@bp.post(BASE)
def create_object(object_type: str) -> tuple[Response, int] | Response:
    """Create one record, optionally associated on creation."""
    if (bad := check_type(object_type)) is not None:
        return bad
    sb, account, body = sandbox(), g.account, json_object()
    links = body.get("associations") or []
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and isinstance(link.get("to"), dict) for link in links
    ):
        return errors.validation_error("associations must be [{to: {id}, types}]")
    others = [str(link["to"].get("id", "")) for link in links]
    other_type = "contacts" if object_type == "deals" else "deals"
    with sb.store.lock:
        for other in others:
            try:
                sb.store.get(account, other_type, other)
            except NotFound:
                return errors.validation_error(
                    f"Object {other} to associate was not found"
                )
        try:
            record = sb.store.create(account, object_type, body.get("properties") or {})
        except ValidationFailed as failure:
            return errors.invalid_values(failure.problems)
        except Conflict as conflict:
            return errors.error(409, str(conflict), "CONFLICT")
        for other in others:
            if object_type == "deals":
                sb.store.associate(account, record.id, other)
            else:
                sb.store.associate(account, other, record.id)
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
    if (bad := check_type(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    try:
        record = _lookup(object_type, object_id)
        if request.method == "DELETE":
            sb.store.archive(account, object_type, record.id, "INTEGRATION")
            return Response(status=204)
        if request.method == "PATCH":
            values = json_object().get("properties") or {}
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


bp.add_url_rule(f"{BASE}/search", view_func=search.search_view, methods=["POST"])
