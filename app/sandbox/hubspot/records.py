"""Rendering records as v3 `SimplePublicObject` JSON, the batch envelopes, and
the opaque paging cursors of list endpoints."""

import base64
import binascii
from typing import Any

from flask import request

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.ids import parse_record_id
from app.sandbox.hubspot.store import Account, HubSpotStore, Record
from app.sandbox.hubspot.values import iso


def requested(name: str) -> list[str] | None:
    """A list query parameter, repeated (`a=x&a=y`) or comma-separated."""
    values = request.args.getlist(name)
    if not values:
        return None
    return [item for value in values for item in value.split(",") if item]


def render(
    store: HubSpotStore,
    account: Account,
    otype: str,
    record: Record,
    properties: list[str] | None = None,
    with_history: list[str] | None = None,
    associations: list[str] | None = None,
) -> dict[str, Any]:
    """A record as HubSpot returns it: string values, null for unset ones asked for."""
    names = properties if properties else defaults.DEFAULT_SEARCH_PROPERTIES[otype]
    known = account.properties[otype]
    own = record.properties
    values = {name: (own.get(name) or None) for name in names if name in known}
    body: dict[str, Any] = {
        "id": record.id,
        "properties": values,
        "createdAt": iso(record.created_at),
        "updatedAt": iso(record.updated_at),
        "archived": record.archived,
    }
    if record.archived:
        body["archivedAt"] = iso(record.archived_at or record.updated_at)
    if with_history:
        body["propertiesWithHistory"] = {
            name: history(record, name) for name in with_history if name in known
        }
    if associations:
        linked = _associations(store, account, otype, record.id, associations)
        if linked:
            body["associations"] = linked
    return body


def history(record: Record, name: str) -> list[dict[str, str]]:
    """`propertiesWithHistory[name]`: every value the property had, newest first."""
    found = []
    for at, source, source_id, values in reversed(record.history):
        if name in values:
            entry = {"value": values[name], "timestamp": iso(at), "sourceType": source}
            if source_id:
                entry["sourceId"] = source_id
            found.append(entry)
    return found


def _associations(
    store: HubSpotStore,
    account: Account,
    otype: str,
    record_id: str,
    wanted: list[str],
) -> dict[str, Any]:
    """The v3 inline `associations`: `contact_to_company` for a primary company
    (besides its `_unlabeled` entry), `contact_to_deal` style names otherwise."""
    linked: dict[str, Any] = {}
    for other in wanted:
        if (otype, other) not in defaults.ASSOCIATION_TYPES:
            continue
        base = f"{defaults.SINGULAR[otype]}_to_{defaults.SINGULAR[other]}"
        labelled = (otype, other) in defaults.PRIMARY_ASSOCIATION_TYPES
        results = []
        for other_id in store.associated(account, otype, record_id, other):
            if labelled:
                contact, company = (
                    (record_id, other_id)
                    if otype == "contacts"
                    else (other_id, record_id)
                )
                if store.is_primary(account, contact, company):
                    results.append({"id": other_id, "type": base})
                results.append({"id": other_id, "type": f"{base}_unlabeled"})
            else:
                results.append({"id": other_id, "type": base})
        if results:
            linked[other] = {"results": results}
    return linked


def batch_body(results: list[dict], errors: list[dict], started: float) -> dict:
    """`BatchResponseSimplePublicObject` (or `…WithErrors` when errors exist)."""
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = iso(started)
    body["completedAt"] = iso(started)
    return body


def missing_error(otype: str, ids: list[str], verb: str = "get") -> dict[str, Any]:
    """The 207 `errors[]` item for ids that do not exist."""
    name = defaults.SINGULAR[otype].upper()
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not {verb} some {name} objects, they may be deleted or not "
        "exist. Check that ids are valid.",
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def encode_cursor(record_id: str) -> str:
    """`paging.next.after` of list endpoints: opaque, as in HubSpot's examples
    (`NTI1Cg==`), so clients must pass it back rather than compute it."""
    return base64.b64encode(f"{record_id}\n".encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    """The record id a cursor points at; 0 for no cursor; None when invalid."""
    if not cursor:
        return 0
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not text.endswith("\n"):
        return None
    return parse_record_id(text[:-1])
