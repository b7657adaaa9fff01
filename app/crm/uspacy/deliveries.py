"""Bodies Uspacy posts to a portal's webhook URL, read loosely (reference §9.3,
§9.4): Uspacy documents neither the body nor the handshake, so both shapes an
app may meet are read, and a missing or odd field never fails the delivery.

- plain: the event JSON (`{id, type, createdAt, data: {action, user_id, entity,
  old_entity, …}}`); the handshake is `{type: "confirmation", validation_link}`.
- SNS-style: `{Type: "Notification", Message: "<event JSON>"}`; the handshake is
  `{Type: "SubscriptionConfirmation", SubscribeURL}`.

An event is only a hint: which record, what happened, who did it, whether a
stage moved. The record itself is read again over REST when the event is
worked on, so no field value of the body is kept.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from app.crm.uspacy import values

TABLES = ("leads", "contacts", "deals")
MAX_EVENTS = 100  # a body holding a list: more are not read
MAX_LINK_CHARS = 2000
MAX_EVENT_ID_CHARS = 100
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 32_503_680_000_000  # 2000 to 3000


@dataclass(frozen=True, slots=True)
class Confirmation:
    """The handshake: the link to fetch so the webhook starts delivering."""

    link: str


@dataclass(frozen=True, slots=True)
class RecordEvent:
    """One change to a lead, contact or deal, as the body tells it."""

    table: str
    record_id: str
    action: str  # create | update | delete | updateStage (or what Uspacy sends)
    user_id: str | None  # who made the change
    stage_moved: bool
    occurred_at: datetime
    # SHA-256 (hex) of what makes two deliveries the same event.
    dedupe_key: str


def parse_delivery(body: bytes, now: datetime) -> Confirmation | list[RecordEvent]:
    """The handshake, or the record events of a delivery (those about other
    tables or without a record id are left out); ValueError for a body that
    is not JSON."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ValueError("the body is not JSON") from None
    if isinstance(parsed, dict):
        confirmation = _confirmation(parsed)
        if confirmation is not None:
            return confirmation
        if parsed.get("Type") == "Notification":
            message = parsed.get("Message")
            try:
                parsed = orjson.loads(message) if isinstance(message, str) else message
            except orjson.JSONDecodeError:
                raise ValueError("the notification's Message is not JSON") from None
    items = parsed[:MAX_EVENTS] if isinstance(parsed, list) else [parsed]
    found = (_event(item, now) for item in items if isinstance(item, dict))
    return [event for event in found if event is not None]


def _confirmation(body: dict[str, Any]) -> Confirmation | None:
    if body.get("Type") == "SubscriptionConfirmation":
        link = body.get("SubscribeURL")
    elif body.get("type") == "confirmation" or "validation_link" in body:
        link = body.get("validation_link")
    else:
        return None
    if not isinstance(link, str) or not 0 < len(link) <= MAX_LINK_CHARS:
        raise ValueError("the confirmation carries no link")
    return Confirmation(link)


def _event(body: dict[str, Any], now: datetime) -> RecordEvent | None:
    data = _dict(body.get("data")) or body
    entity = _dict(data.get("entity")) or _dict(body.get("entity"))
    raw_id = entity.get("id") if entity else body.get("id")
    record_id = values.record_id(raw_id)
    table = _first_text(
        entity.get("table_name"),
        data.get("table_name"),
        body.get("table_name"),
        body.get("entity_type"),
    )
    action = _first_text(data.get("action"), body.get("action"), body.get("event"))
    if record_id is None or table not in TABLES or action is None:
        return None
    old = _dict(data.get("old_entity"))
    stage_moved = action == "updateStage" or _moved(entity, old)
    user_id = values.record_id(_first(data.get("user_id"), body.get("user_id")))
    event_id = _first_text(body.get("id"), data.get("id")) if entity else None
    updated = entity.get("updated_at")
    identity = (table, record_id, action, updated, stage_moved, event_id)
    return RecordEvent(
        table=table,
        record_id=record_id,
        action=action,
        user_id=user_id,
        stage_moved=stage_moved,
        occurred_at=_moment(body.get("createdAt"), data.get("timestamp"), now),
        dedupe_key=hashlib.sha256(orjson.dumps(identity, default=str)).hexdigest(),
    )


def _moved(entity: dict[str, Any], old: dict[str, Any]) -> bool:
    new_stage = values.record_id(entity.get("new_kanban_stage_id"))
    old_stage = values.record_id(entity.get("old_kanban_stage_id"))
    if new_stage is not None and old_stage is not None:
        return new_stage != old_stage
    before = values.record_id(old.get("kanban_stage_id"))
    after = values.record_id(entity.get("kanban_stage_id"))
    return before is not None and after is not None and before != after


def _moment(created_ms: Any, stamp: Any, now: datetime) -> datetime:
    """When the change happened: `createdAt` (ms), else `timestamp`, else now."""
    if isinstance(created_ms, int) and not isinstance(created_ms, bool):
        if _EARLIEST_MS <= created_ms <= _LATEST_MS:
            return datetime.fromtimestamp(created_ms / 1000, tz=UTC)
    return values.moment(stamp) or now


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _first(*candidates: Any) -> Any:
    return next((c for c in candidates if c is not None), None)


def _first_text(*candidates: Any) -> str | None:
    for candidate in candidates:
        if isinstance(candidate, str) and 0 < len(candidate) <= MAX_EVENT_ID_CHARS:
            return candidate
    return None
