"""CRM v3 object routes for contacts, companies and deals: get, list with `after`
paging, create, update and archive, as HubSpot documents them (batches:
`crm_batch.py`, search: `search.py`)."""

from bisect import bisect_left
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, request

from app.sandbox.hubspot import defaults, errors, search
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.records import (
    decode_cursor,
    encode_cursor,
    render,
    requested,
)
from app.sandbox.hubspot.store import (
    Account,
    Conflict,
    NotFound,
    Record,
    ValidationFailed,
)

bp = Blueprint("hubspot_crm", __name__)
BASE = "/crm/v3/objects/<object_type>"
LIST_LIMIT = 100


def check_type(object_type: str) -> Response | None:
    """400 for an object type the portal does not have."""
    if object_type not in defaults.OBJECT_TYPES:
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
    names = requested("properties")
    with_history = requested("propertiesWithHistory")
    linked = requested("associations")
    with sb.store.lock:
        page, following = _page(account, object_type, after, limit, archived)
        body: dict[str, Any] = {
            "results": [
                render(sb.store, account, object_type, r, names, with_history, linked)
                for r in page
            ]
        }
    if following is not None:
        cursor = encode_cursor(following.id)
        body["paging"] = {
            "next": {
                "after": cursor,
                "link": f"{request.base_url}?{urlencode({'after': cursor})}",
            }
        }
    return jsonify(body)


def _page(
    account: Account, object_type: str, after: int, limit: int, archived: bool
) -> tuple[list[Record], Record | None]:
    """Up to `limit` records from id `after` on, and the first one after them.

    Ids are kept sorted, so a page costs its own length, not the portal's size.
    """
    order, records = account.order[object_type], account.objects[object_type]
    page: list[Record] = []
    for record_id in islice(order, bisect_left(order, after), None):
        record = records[str(record_id)]
        if record.archived != archived:
            continue
        if len(page) == limit:
            return page, record
        page.append(record)
    return page, None


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
    targets = [_target(object_type, link) for link in links]
    if None in targets:
        return errors.validation_error(
            f"Invalid association type for {object_type}: see associationTypeId"
        )
    with sb.store.lock:
        for other_type, other, _ in targets:
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
        for other_type, other, primary in targets:
            sb.store.link(
                account, object_type, record.id, other_type, other, primary=primary
            )
    return jsonify(
        render(sb.store, account, object_type, record, list(record.properties))
    ), 201


def _target(object_type: str, link: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(other type, other id, primary) of one association on create, from its
    `types`; without types, a deal's contacts, a contact's deals or a company's
    contacts. None when a type id does not fit the object type."""
    to_id = str(link["to"].get("id", ""))
    types = link.get("types") or []
    if not types:
        return ("deals" if object_type == "contacts" else "contacts"), to_id, False
    found, primary = None, False
    for spec in types if isinstance(types, list) else [None]:
        type_id = spec.get("associationTypeId") if isinstance(spec, dict) else None
        for (own, other), unlabelled in defaults.ASSOCIATION_TYPES.items():
            primary_id = defaults.PRIMARY_ASSOCIATION_TYPES.get((own, other))
            if own == object_type and type_id in (unlabelled, primary_id):
                found, primary = other, primary or type_id == primary_id
    return None if found is None else (found, to_id, primary)


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
