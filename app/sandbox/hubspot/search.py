"""CRM search (`POST /crm/v3/objects/{type}/search`) with HubSpot's semantics:
ORed filter groups of ANDed filters, one sort, `limit` ≤ 200, an offset cursor
(400 when it is not one), the 10,000-result cap, the filter-count limits
(HubSpot's API documentation), and eventual consistency: search reads the
portal's search index (`index.py`), which trails the records. Matching and
ordering: `search_eval.py`."""

from typing import Any

from flask import Response, g, jsonify, request

from app.sandbox.hubspot import defaults, errors, search_eval
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.records import render

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}


def search_view(object_type: str) -> tuple[Response, int] | Response:
    """Run one search request for the calling account."""
    if object_type not in defaults.OBJECT_TYPES:
        return errors.validation_error(
            f"Unable to infer object type from: {object_type}"
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return errors.validation_error("Invalid input JSON: a search request object")
    problem = _check(body)
    if problem:
        return errors.validation_error(problem)
    sb, account = sandbox(), g.account
    limit = int(body.get("limit") or 10)
    offset = int(body.get("after") or 0)
    with sb.store.lock:
        found = account.search[object_type]
        found.catch_up(sb.clock.now())
        kinds = {n: d["type"] for n, d in account.properties[object_type].items()}
        total, page = search_eval.run(found, body, kinds, object_type, offset, limit)
        names = (
            body.get("properties") or defaults.DEFAULT_SEARCH_PROPERTIES[object_type]
        )
        results = [render(sb.store, account, object_type, r, names) for r in page]
    out: dict[str, Any] = {"total": total, "results": results}
    if offset + limit < total:
        out["paging"] = {"next": {"after": str(offset + limit)}}
    return jsonify(out)


def _check(body: dict[str, Any]) -> str | None:
    limit = body.get("limit") or 10
    if isinstance(limit, bool) or not isinstance(limit, int | str):
        return "limit must be an integer"
    if isinstance(limit, str) and not (limit.isascii() and limit.isdigit()):
        return "limit must be an integer"
    limit = int(limit)
    if not 0 < limit <= MAX_LIMIT:
        return f"limit must be between 1 and {MAX_LIMIT}"
    after = body.get("after")
    # The cursor is the `paging.next.after` of an earlier page; anything else is
    # rejected (the exact message is unpublished).
    if after not in (None, "") and not (
        isinstance(after, str | int)
        and not isinstance(after, bool)
        and str(after).isascii()
        and str(after).isdigit()
        and len(str(after)) <= 9
    ):
        return f"Invalid paging cursor: after={after!r}"
    if int(after or 0) + limit > MAX_RESULTS:
        return (
            f"Search results are limited to {MAX_RESULTS} per query; after + limit "
            "exceeds it"
        )
    shape = _check_shape(body)
    if shape:
        return shape
    groups = body.get("filterGroups") or []
    if len(groups) > MAX_GROUPS:
        return f"Too many filter groups: {len(groups)}. The maximum is {MAX_GROUPS}."
    total = 0
    for group in groups:
        filters = group.get("filters") or []
        total += len(filters)
        if len(filters) > MAX_FILTERS_PER_GROUP:
            return (
                f"Too many filters in a group. The maximum is {MAX_FILTERS_PER_GROUP}."
            )
        for item in filters:
            if item.get("operator") not in OPERATORS:
                return f"Unknown filter operator: {item.get('operator')}"
    if total > MAX_FILTERS:
        return f"Too many filters: {total}. The maximum is {MAX_FILTERS}."
    if len(str(body.get("query") or "")) > 3000:
        return "query is longer than 3000 characters"
    return None


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _check_shape(body: dict[str, Any]) -> str | None:
    groups = body.get("filterGroups") or []
    if not _objects(groups) or not all(
        _objects(group.get("filters") or []) for group in groups
    ):
        return "filterGroups must be a list of {filters: [...]} objects"
    for group in groups:
        for item in group.get("filters") or []:
            if not isinstance(item.get("values") or [], list):
                return "filter values must be a list"
    sorts = body.get("sorts") or []
    if not isinstance(sorts, list) or not all(
        isinstance(item, str | dict) for item in sorts
    ):
        return "sorts must be a list"
    names = body.get("properties") or []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return "properties must be a list of property names"
    return None
