"""Running one CRM search over a portal's search index: filters compiled once
per request into plain functions, `hs_object_id` bounds answered from the sorted
ids (the keyset paging HubSpot recommends reads only its own range), and
HubSpot's ordering (one sort; records without the sorted value last).

Values compare the way HubSpot's search does: numbers as numbers, datetimes as
moments, strings case-insensitively, `IN` against values as given (so they must
be lowercase to match strings).
"""

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.index import SearchIndex
from app.sandbox.hubspot.model import Record
from app.sandbox.hubspot.values import iso, parse_time

Test = Callable[[dict[str, str]], bool]
Convert = Callable[[Any], Any]
ID = "hs_object_id"


def run(
    index: SearchIndex,
    body: dict[str, Any],
    kinds: dict[str, str],
    otype: str,
    offset: int,
    limit: int,
) -> tuple[int, list[Record]]:
    """(total matches, the requested page of snapshots)."""
    groups = body.get("filterGroups") or []
    lowest, highest, groups = _id_bounds(groups)
    ids, visible = index.ids, index.visible
    start = 0 if lowest is None else bisect_left(ids, lowest)
    stop = len(ids) if highest is None else bisect_right(ids, highest)
    name, descending = _sort(body.get("sorts") or [])
    query = str(body.get("query") or "").strip().lower()
    test = _compile(groups, kinds, query, otype)
    if test is None and name == ID:
        total = max(0, stop - start)
        if descending:
            chosen = ids[max(start, stop - offset - limit) : max(start, stop - offset)]
            chosen.reverse()
        else:
            chosen = ids[start + offset : min(stop, start + offset + limit)]
        return total, [visible[i] for i in chosen]
    candidates = [visible[i] for i in ids[start:stop]]
    hits = [r for r in candidates if test(r.properties)] if test else candidates
    if name == ID:
        if descending:
            hits.reverse()
    else:
        hits = _ordered(hits, name, descending, _converter(kinds.get(name, "string")))
    return len(hits), hits[offset : offset + limit]


def _sort(sorts: list[Any]) -> tuple[str, bool]:
    if not sorts:
        return ID, False
    first = sorts[0]
    if isinstance(first, str):
        return first.lstrip("-") or ID, first.startswith("-")
    name = first.get("propertyName") or ID
    return name, first.get("direction", "ASCENDING") == "DESCENDING"


def _ordered(
    records: list[Record], name: str, descending: bool, convert: Convert
) -> list[Record]:
    keyed = [(convert(r.properties.get(name)), r) for r in records]
    present = [pair for pair in keyed if pair[0] is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [r for _, r in present] + [r for key, r in keyed if key is None]


def _integer(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _id_bounds(
    groups: list[dict[str, Any]],
) -> tuple[int | None, int | None, list[dict[str, Any]]]:
    """Bounds on `hs_object_id` of a single filter group, and the groups left to
    test record by record."""
    if len(groups) != 1:
        return None, None, groups
    lowest: float | None = None
    highest: float | None = None
    rest = []
    for item in groups[0].get("filters") or []:
        op = item.get("operator")
        low = high = None
        value = _integer(item.get("value"))
        if item.get("propertyName") != ID or value is None:
            rest.append(item)
            continue
        if op == "EQ":
            low = high = value
        elif op in ("GT", "GTE"):
            low = math.floor(value) + 1 if op == "GT" else math.ceil(value)
        elif op in ("LT", "LTE"):
            high = math.ceil(value) - 1 if op == "LT" else math.floor(value)
        elif op == "BETWEEN" and _integer(item.get("highValue")) is not None:
            low, high = math.ceil(value), math.floor(_integer(item["highValue"]))
        else:
            rest.append(item)
            continue
        if low is not None:
            lowest = low if lowest is None else max(lowest, low)
        if high is not None:
            highest = high if highest is None else min(highest, high)
    if lowest is not None and highest is not None and lowest > highest:
        lowest, highest = 1, 0
    return (
        None if lowest is None else math.ceil(lowest),
        None if highest is None else math.floor(highest),
        [{"filters": rest}] if rest else [],
    )


def _compile(
    groups: list[dict[str, Any]], kinds: dict[str, str], query: str, otype: str
) -> Test | None:
    """One function telling whether a record's properties match; None when every
    record does."""
    alternatives = [
        _all([_filter(item, kinds) for item in group.get("filters") or []])
        for group in groups
    ]
    if query:
        alternatives = [_all([_text(query, otype), _any(alternatives)])]
    return _any(alternatives) if alternatives else None


def _all(tests: list[Test]) -> Test:
    if not tests:
        return lambda p: True
    if len(tests) == 1:
        return tests[0]
    if len(tests) == 2:
        first, second = tests
        return lambda p: first(p) and second(p)
    return lambda p: all(test(p) for test in tests)


def _any(tests: list[Test]) -> Test:
    if not tests:
        return lambda p: True
    if len(tests) == 1:
        return tests[0]
    return lambda p: any(test(p) for test in tests)


def _text(query: str, otype: str) -> Test:
    """The free-text `query`: a substring of any default text property."""
    names = defaults.TEXT_QUERY_PROPERTIES[otype]
    return lambda p: any(query in (p.get(n) or "").lower() for n in names)


def _converter(kind: str) -> Convert:
    """Stored value → comparable one (None for unset or unparseable)."""
    if kind == "number":
        return lambda raw: _integer(raw) if raw not in (None, "") else None
    if kind == "datetime":
        # Stored datetimes are all `YYYY-MM-DDTHH:MM:SS.mmmZ`, whose text order
        # is their time order; filter values are brought to the same form.
        return lambda raw: raw or None
    if kind == "date":
        return lambda raw: parse_time(str(raw)) if raw not in (None, "") else None
    return lambda raw: str(raw).lower() if raw not in (None, "") else None


def _operand(kind: str) -> Convert:
    """A filter's value → comparable with `_converter(kind)`'s results."""
    if kind == "datetime":

        def moment(value: Any) -> str | None:
            seconds = parse_time(str(value)) if value not in (None, "") else None
            return None if seconds is None else iso(seconds)

        return moment
    return _converter(kind)


def _filter(item: dict[str, Any], kinds: dict[str, str]) -> Test:
    name, op = item.get("propertyName", ""), item["operator"]
    kind = kinds.get(name, "string")
    if op == "HAS_PROPERTY":
        return lambda p: bool(p.get(name))
    if op == "NOT_HAS_PROPERTY":
        return lambda p: not p.get(name)
    mine, theirs = _converter(kind), _operand(kind)
    if op in ("IN", "NOT_IN"):
        raw_values = item.get("values") or []
        values = {str(v) if kind == "string" else theirs(v) for v in raw_values}
        inside = op == "IN"
        if kind == "string":
            return lambda p: ((p.get(name) or "").lower() in values) == inside
        return lambda p: (mine(p.get(name)) in values) == inside
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        token = str(item.get("value", "")).lower().strip("*")
        present = op == "CONTAINS_TOKEN"
        return lambda p: (token in (p.get(name) or "").lower()) == present
    other = theirs(item.get("value"))
    if kind == "datetime" and op in ("LT", "LTE", "GT", "GTE") and other:
        return _moment_test(name, op, other)
    if kind not in ("number", "date", "datetime") and op in ("EQ", "NEQ"):
        target, equal = other or "", op == "EQ"
        return lambda p: ((p.get(name) or "").lower() == target) == equal
    if op == "EQ":
        return lambda p: mine(p.get(name)) == other
    if op == "NEQ":
        return lambda p: mine(p.get(name)) != other
    if other is None:
        return lambda p: False
    if op == "BETWEEN":
        high = theirs(item.get("highValue"))
        if high is None:
            return lambda p: False
        return lambda p: (v := mine(p.get(name))) is not None and other <= v <= high
    compare = {
        "LT": lambda v: v < other,
        "LTE": lambda v: v <= other,
        "GT": lambda v: v > other,
        "GTE": lambda v: v >= other,
    }[op]
    return lambda p: (v := mine(p.get(name))) is not None and compare(v)


def _moment_test(name: str, op: str, other: str) -> Test:
    """Datetime bounds on stored `…Z` texts, compared as text (same order)."""
    if op == "GT":
        return lambda p: (p.get(name) or "") > other
    if op == "GTE":
        return lambda p: (p.get(name) or "") >= other
    if op == "LT":
        return lambda p: "" < (p.get(name) or "") < other
    return lambda p: "" < (p.get(name) or "") <= other
