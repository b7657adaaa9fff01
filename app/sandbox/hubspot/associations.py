"""Associations v4 between deals and contacts and between contacts and companies
(HubSpot's API documentation): per-record pages (≤ 500), batch read (≤ 1000
ids), default and labelled create, and archive. deal→contact is type 3,
contact→deal 4; contact→company 279 (unlabelled) and 1 (primary), company→contact
280 and 2. A primary company is listed with both of its types.

`toObjectId` is a JSON number, as in HubSpot's documented responses (the spec
says string; the SDK turns either into a string), and paging cursors are
opaque; a cursor that is not one gives 400."""

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from app.sandbox.hubspot import defaults, errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.records import batch_body, decode_cursor, encode_cursor
from app.sandbox.hubspot.store import NotFound

bp = Blueprint("hubspot_associations", __name__)
PAGE_LIMIT = 500
BATCH_READ_LIMIT = 1000
ONE = "/crm/v4/objects/<from_type>/<object_id>/associations/<to_type>"
BATCH = "/crm/v4/associations/<from_type>/<to_type>/batch"


def _pair(from_type: str, to_type: str) -> int | None:
    return defaults.ASSOCIATION_TYPES.get((from_type, to_type))


def _link(
    from_type: str,
    from_id: str,
    to_type: str,
    to_id: str,
    remove: bool = False,
    primary: bool = False,
) -> None:
    store, account = sandbox().store, g.account
    if remove:
        store.unlink(account, from_type, from_id, to_type, to_id)
    else:
        store.link(account, from_type, from_id, to_type, to_id, primary=primary)


def _spec(type_id: int, label: str | None = None) -> dict[str, Any]:
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": label}


def _types(from_type: str, from_id: str, to_type: str, to_id: str) -> list[dict]:
    """The association types between two associated records."""
    specs = [_spec(defaults.ASSOCIATION_TYPES[(from_type, to_type)])]
    primary = defaults.PRIMARY_ASSOCIATION_TYPES.get((from_type, to_type))
    if primary is not None:
        contact, company = (
            (from_id, to_id) if from_type == "contacts" else (to_id, from_id)
        )
        if sandbox().store.is_primary(g.account, contact, company):
            specs.insert(0, _spec(primary, "Primary"))
    return specs


def _unsupported(from_type: str, to_type: str) -> Response:
    return errors.validation_error(
        f"Associations between {from_type} and {to_type} are not supported here"
    )


@bp.get(ONE)
def page(from_type: str, object_id: str, to_type: str) -> Response:
    """Associated ids of one record, 500 per page by default."""
    type_id = _pair(from_type, to_type)
    if type_id is None:
        return _unsupported(from_type, to_type)
    raw_limit = request.args.get("limit", str(PAGE_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 6):
        return errors.validation_error("limit must be an integer")
    limit = max(1, min(int(raw_limit), PAGE_LIMIT))
    after = decode_cursor(request.args.get("after"))
    if after is None:
        return errors.validation_error(
            f"Invalid paging cursor: after={request.args.get('after')!r}"
        )
    ids = [
        i
        for i in sandbox().store.associated(g.account, from_type, object_id, to_type)
        if int(i) >= after
    ]
    body: dict[str, Any] = {
        "results": [_to(from_type, object_id, to_type, i) for i in ids[:limit]]
    }
    if len(ids) > limit:
        body["paging"] = {"next": {"after": encode_cursor(ids[limit]), "link": None}}
    return jsonify(body)


def _to(from_type: str, from_id: str, to_type: str, to_id: str) -> dict[str, Any]:
    return {
        "toObjectId": int(to_id),
        "associationTypes": _types(from_type, from_id, to_type, to_id),
    }


@bp.put(f"{ONE}/<to_id>")
def create_labelled(
    from_type: str, object_id: str, to_type: str, to_id: str
) -> tuple[Response, int] | Response:
    """Create an association with explicit types: the unlabelled one, or a
    contact's primary company (no custom labels exist here)."""
    type_id = _pair(from_type, to_type)
    if type_id is None:
        return _unsupported(from_type, to_type)
    primary_id = defaults.PRIMARY_ASSOCIATION_TYPES.get((from_type, to_type))
    specs = request.get_json(silent=True)
    if not isinstance(specs, list) or not all(isinstance(x, dict) for x in specs):
        return errors.validation_error("Invalid input JSON: a list of types")
    for spec in specs:
        if spec.get("associationCategory") != "HUBSPOT_DEFINED" or spec.get(
            "associationTypeId"
        ) not in (type_id, primary_id):
            return errors.validation_error(
                f"Invalid association type {spec.get('associationTypeId')} "
                f"for {from_type} to {to_type}"
            )
    primary = any(spec.get("associationTypeId") == primary_id for spec in specs)
    try:
        _link(from_type, object_id, to_type, to_id, primary=primary)
    except NotFound:
        return errors.not_found()
    return jsonify(
        {
            "fromObjectTypeId": defaults.OBJECT_TYPE_IDS[from_type],
            "fromObjectId": str(object_id),
            "toObjectTypeId": defaults.OBJECT_TYPE_IDS[to_type],
            "toObjectId": str(to_id),
            "labels": [],
        }
    ), 201


@bp.delete(f"{ONE}/<to_id>")
def archive(from_type: str, object_id: str, to_type: str, to_id: str) -> Response:
    """Remove every association between the two records."""
    if _pair(from_type, to_type) is None:
        return _unsupported(from_type, to_type)
    _link(from_type, object_id, to_type, to_id, remove=True)
    return Response(status=204)


def _default_result(
    from_type: str, to_type: str, from_id: str, to_id: str
) -> list[dict[str, Any]]:
    forward, backward = _pair(from_type, to_type), _pair(to_type, from_type)
    return [
        {
            "from": {"id": from_id},
            "to": {"id": to_id},
            "associationSpec": {
                "associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": forward,
            },
        },
        {
            "from": {"id": to_id},
            "to": {"id": from_id},
            "associationSpec": {
                "associationCategory": "HUBSPOT_DEFINED",
                "associationTypeId": backward,
            },
        },
    ]


@bp.put(
    "/crm/v4/objects/<from_type>/<object_id>/associations/default/<to_type>/<to_id>"
)
def create_default(
    from_type: str, object_id: str, to_type: str, to_id: str
) -> Response:
    """Create the default (unlabelled) association."""
    if _pair(from_type, to_type) is None:
        return _unsupported(from_type, to_type)
    started = sandbox().clock.now()
    try:
        _link(from_type, object_id, to_type, to_id)
    except NotFound:
        return errors.not_found()
    return jsonify(
        batch_body(_default_result(from_type, to_type, object_id, to_id), [], started)
    )


@bp.post(f"{BATCH}/read")
def batch_read(from_type: str, to_type: str) -> tuple[Response, int]:
    """Associations of up to 1000 records; ids without any come back as errors."""
    if _pair(from_type, to_type) is None:
        return _unsupported(from_type, to_type), 400
    inputs = _inputs()
    if inputs is None:
        return errors.validation_error("Invalid input JSON: inputs is required"), 400
    if len(inputs) > BATCH_READ_LIMIT:
        return errors.validation_error(
            f"Too many inputs: {len(inputs)}. The maximum is {BATCH_READ_LIMIT}."
        ), 400
    sb = sandbox()
    results, problems = [], []
    with sb.store.lock:
        for item in inputs:
            problem = _read_one(from_type, to_type, item, results, problems)
            if problem is not None:
                return problem, 400
    body = batch_body(results, problems, sb.clock.now())
    return jsonify(body), 207 if problems else 200


def _read_one(
    from_type: str,
    to_type: str,
    item: dict[str, Any],
    results: list[dict[str, Any]],
    problems: list[dict[str, Any]],
) -> Response | None:
    """One input of a batch read, into `results` or `problems`; a bad cursor
    fails the whole batch."""
    from_id = str(item.get("id", ""))
    after = decode_cursor(item.get("after") and str(item.get("after")))
    if after is None:
        return errors.validation_error(
            f"Invalid paging cursor: after={item.get('after')!r}"
        )
    ids = [
        i
        for i in sandbox().store.associated(g.account, from_type, from_id, to_type)
        if int(i) >= after
    ]
    if not ids:
        problems.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "message": f"No {defaults.SINGULAR[to_type]} is associated "
                f"with {defaults.SINGULAR[from_type]} {from_id}.",
                "context": {"fromObjectId": [from_id]},
                "errors": [],
                "links": {},
            }
        )
        return None
    result: dict[str, Any] = {
        "from": {"id": from_id},
        "to": [_to(from_type, from_id, to_type, i) for i in ids[:PAGE_LIMIT]],
    }
    if len(ids) > PAGE_LIMIT:
        result["paging"] = {"next": {"after": encode_cursor(ids[PAGE_LIMIT])}}
    results.append(result)
    return None


@bp.post(f"{BATCH}/associate/default")
def batch_default(from_type: str, to_type: str) -> tuple[Response, int]:
    """Create default associations for many pairs."""
    if _pair(from_type, to_type) is None:
        return _unsupported(from_type, to_type), 400
    started, results = sandbox().clock.now(), []
    inputs = _inputs()
    if inputs is None:
        return errors.validation_error("Invalid input JSON: inputs is required"), 400
    for item in inputs:
        try:
            from_id, to_id = str(item["from"]["id"]), str(item["to"]["id"])
        except (KeyError, TypeError):
            return errors.validation_error("each input needs from.id and to.id"), 400
        try:
            _link(from_type, from_id, to_type, to_id)
        except NotFound:
            return errors.not_found(), 404
        results += _default_result(from_type, to_type, from_id, to_id)
    return jsonify(batch_body(results, [], started)), 200


@bp.post(f"{BATCH}/archive")
def batch_archive(from_type: str, to_type: str) -> Response:
    """Remove associations for many pairs; 204 whatever the prior state."""
    if _pair(from_type, to_type) is None:
        return _unsupported(from_type, to_type)
    inputs = _inputs()
    if inputs is None:
        return errors.validation_error("Invalid input JSON: inputs is required")
    for item in inputs:
        try:
            pairs = [(str(item["from"]["id"]), str(t["id"])) for t in item["to"]]
        except (KeyError, TypeError):
            return errors.validation_error("each input needs from.id and to[].id")
        for from_id, to_id in pairs:
            _link(from_type, from_id, to_type, to_id, remove=True)
    return Response(status=204)


def _inputs() -> list[dict[str, Any]] | None:
    """The batch body's `inputs`, or None when it is not a list of objects."""
    body = request.get_json(silent=True)
    inputs = body.get("inputs") if isinstance(body, dict) else None
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        return None
    return inputs
