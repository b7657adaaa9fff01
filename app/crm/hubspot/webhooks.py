"""HubSpot webhook deliveries as the app receives them: the v3 signature check,
the events of a body (validated, bounded, each with the key that recognises a
redelivery), and the rules that keep our own writes from coming back as work.

HubSpot retries, duplicates and reorders deliveries, and `eventId` is not unique,
so an event is known by what it says: for object events the portal, type,
subscription, record, time and property change; for association events (no
`objectId`) the portal, type, association type, both record ids, the removed
flag and the time. The web route verifies and parses; the inbox service stores.
"""

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hubspot.exceptions import InvalidSignatureTimestampError
from hubspot.utils.signature import Signature

from app.crm.hubspot.config import HubSpotConfig
from app.crm.hubspot.subscriptions import OWN_PROPERTY_PREFIX

SIGNATURE_HEADER = "X-HubSpot-Signature-v3"
TIMESTAMP_HEADER = "X-HubSpot-Request-Timestamp"
# HubSpot's rule: a timestamp older than five minutes is a replay. A clock a
# little ahead of ours is tolerated; a signature dated further ahead would stay
# replayable for that long, so it is refused (the SDK accepts any future time).
STALE_AFTER_MS = 5 * 60 * 1000
FUTURE_LEEWAY_MS = 60 * 1000
MAX_SIGNATURE_CHARS = 128  # a v3 signature has 44

MAX_EVENTS_PER_BODY = 1000
MAX_KIND_CHARS = 48  # crm_events.kind
MAX_PROPERTY_NAME_CHARS = 256
MAX_PROPERTY_VALUE_CHARS = 1024
MAX_SOURCE_CHARS = 128
MAX_TAG_CHARS = 64  # changeSource, changeFlag, associationType, objectTypeId
MAX_MERGED_IDS = 100
MAX_ID = 2**63 - 1  # record, portal and app ids are 64-bit
_EARLIEST_MS, _LATEST_MS = 946_684_800_000, 32_503_680_000_000  # 2000 to 3000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# The escapes HubSpot decodes in the URI before signing, and no others:
# : / ? @ ! $ ' ( ) * , ;
URI_DECODED = {
    f"%{code}": chr(int(code, 16))
    for code in "3A 2F 3F 40 21 24 27 28 29 2A 2C 3B".split()
}
_ESCAPE = re.compile("|".join(URI_DECODED), re.IGNORECASE)

ACTIONS = frozenset(
    "creation deletion merge restore privacyDeletion propertyChange "
    "associationChange".split()
)
# Classic event names (`contact.creation`) and the generic format's type ids.
OBJECT_TYPES = {"contact": "contacts", "deal": "deals", "company": "companies"}
OBJECT_TYPE_IDS = {"0-1": "contacts", "0-3": "deals", "0-2": "companies"}
_ID_FIELDS = ("eventId", "subscriptionId", "appId")
_TAG_FIELDS = ("objectTypeId", "changeSource", "changeFlag")


@dataclass(frozen=True, slots=True)
class IncomingEvent:
    """One delivered event, checked and bounded, as the inbox stores it."""

    portal_id: str
    kind: str  # subscriptionType, e.g. contact.propertyChange
    object_type: str  # contacts, deals or companies
    object_id: str | None  # None for association events: see payload
    property_name: str | None
    property_value: str | None  # cut to MAX_PROPERTY_VALUE_CHARS
    change_source: str | None
    source_id: str | None
    occurred_at: datetime
    # occurredAt (12 hex digits), then the SHA-256 (hex) of what makes two
    # deliveries the same event, 64 characters in all.
    dedupe_key: str
    payload: dict[str, Any]  # the event's known fields, for the worker
    app_id: str | None = None  # the app the delivery was addressed to


def decode_uri(uri: str) -> str:
    """The URI as HubSpot signs it: only the twelve listed escapes decoded."""
    return _ESCAPE.sub(lambda match: URI_DECODED[match.group().upper()], uri)


def verify_signature(
    config: HubSpotConfig,
    method: str,
    public_url: str,
    raw_body: bytes,
    headers: Mapping[str, str],
    now: datetime,
) -> bool:
    """Whether the request carries HubSpot's v3 signature for this app, made at
    most five minutes before `now` and at most a minute after it.

    `public_url` is the full URL HubSpot posted to (scheme, host, path, query).
    The SDK compares the HMACs in constant time (`hmac.compare_digest`).
    """
    named = {name.lower(): value for name, value in headers.items()}  # any case
    signature = named.get(SIGNATURE_HEADER.lower())
    stamp = named.get(TIMESTAMP_HEADER.lower())
    if not signature or not stamp or len(signature) > MAX_SIGNATURE_CHARS:
        return False
    # compare_digest raises on non-ASCII text; no such header is a signature.
    ascii_ = signature.isascii() and stamp.isascii()
    if not (ascii_ and stamp.isdigit() and len(stamp) <= 15):
        return False
    age_ms = round(now.timestamp() * 1000) - int(stamp)
    if age_ms > STALE_AFTER_MS or age_ms < -FUTURE_LEEWAY_MS:
        return False
    try:
        body = raw_body.decode("utf-8")
    except UnicodeDecodeError:
        return False  # HubSpot signs UTF-8 text: these bytes are not what it sent
    try:
        return Signature.is_valid(
            signature=signature,
            client_secret=config.client_secret,
            request_body=body,
            http_uri=decode_uri(public_url),
            http_method=method.upper(),
            signature_version="v3",
            timestamp=stamp,
        )
    except InvalidSignatureTimestampError:
        return False  # stale by the SDK's own clock


def parse_events(raw_body: bytes) -> list[IncomingEvent]:
    """The usable events of a delivery body, from its first MAX_EVENTS_PER_BODY.

    Unknown fields are ignored and unusable events (no portal, an unknown type,
    a bad id or time) skipped; only a body that is not JSON raises ValueError.
    A body that is not an array holds no events.
    """
    try:
        document = orjson.loads(raw_body)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if type(document) is not list:
        return []
    events = []
    for raw in document[:MAX_EVENTS_PER_BODY]:
        event = _event(raw) if type(raw) is dict else None
        if event is not None:
            events.append(event)
    return events


def names_own_property(event: IncomingEvent) -> bool:
    """A change to one of our conturs_* properties: our own score being written."""
    return (event.property_name or "").startswith(OWN_PROPERTY_PREFIX)


def is_own_change(event: IncomingEvent, app_id: str | None) -> bool:
    """The change was made by our app: its `sourceId` names the app's id.

    Without a configured `app_id` the delivery's own `appId` serves: the body is
    signed with our client secret, so it was addressed to our app.
    """
    ours = app_id or event.app_id
    source = event.source_id
    if not ours or not source:
        return False
    # "4242001", or tagged as in "appId:4242001"; user changes read "userId:…".
    tag, colon, value = source.partition(":")
    if colon and tag.strip().lower() not in ("appid", "app"):
        return False
    return (value if colon else source).strip() == str(ours)


def should_drop(event: IncomingEvent, app_id: str | None) -> bool:
    """Events that would only echo our own writes back into scoring."""
    return names_own_property(event) or is_own_change(event, app_id)


def _event(raw: dict[str, Any]) -> IncomingEvent | None:
    portal = _id_text(raw.get("portalId"))
    kind = raw.get("subscriptionType") or raw.get("eventType")
    occurred_ms = raw.get("occurredAt")
    if portal is None or type(kind) is not str or len(kind) > MAX_KIND_CHARS:
        return None
    if type(occurred_ms) is not int or not _EARLIEST_MS <= occurred_ms < _LATEST_MS:
        return None
    prefix, _, action = kind.partition(".")
    if prefix == "object":
        object_type = OBJECT_TYPE_IDS.get(_tag(raw.get("objectTypeId")) or "")
    else:
        object_type = OBJECT_TYPES.get(prefix)
    if action not in ACTIONS or object_type is None:
        return None
    payload, ids = _known_fields(raw, kind, occurred_ms)
    object_id = property_name = value = None
    if action == "associationChange":
        parts = _association(raw, payload)  # never reads objectId: there is none
        if parts is None:
            return None
    else:
        object_id = _id_text(raw.get("objectId"))
        if object_id is None:
            return None
        payload["objectId"] = raw["objectId"]
        parts = [ids.get("subscriptionId"), object_id]
        if action == "propertyChange":
            property_name = raw.get("propertyName")
            if type(property_name) is not str or not (
                0 < len(property_name) <= MAX_PROPERTY_NAME_CHARS
            ):
                return None
            full = _scalar_text(raw.get("propertyValue"))
            value = None if full is None else full[:MAX_PROPERTY_VALUE_CHARS]
            payload.update(propertyName=property_name, propertyValue=value)
            parts += [property_name, full]
        elif action == "merge":
            _merge(raw, payload)
    digest = hashlib.sha256(orjson.dumps([portal, kind, occurred_ms, *parts]))
    return IncomingEvent(
        portal_id=portal,
        kind=kind,
        object_type=object_type,
        object_id=object_id,
        property_name=property_name,
        property_value=value,
        change_source=payload.get("changeSource"),
        source_id=payload.get("sourceId"),
        occurred_at=_EPOCH + timedelta(milliseconds=occurred_ms),
        # Time first: the keys of one burst sit together in the unique index, so
        # an insert dirties a few index pages rather than one page per event.
        dedupe_key=f"{occurred_ms:012x}{digest.hexdigest()[:52]}",
        payload=payload,
        app_id=ids.get("appId"),
    )


def _known_fields(
    raw: dict[str, Any], kind: str, occurred_ms: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """The fields any event may carry, checked, as the payload starts; and its
    ids (event, subscription, app) in decimal."""
    payload: dict[str, Any] = {
        "portalId": raw["portalId"],
        "subscriptionType": kind,
        "occurredAt": occurred_ms,
    }
    ids = {}
    for key in _ID_FIELDS:
        text = _id_text(raw.get(key))
        if text is not None:
            payload[key], ids[key] = raw[key], text
    for key in _TAG_FIELDS:
        if _tag(raw.get(key)):
            payload[key] = raw[key]
    if type(attempt := raw.get("attemptNumber")) is int and 0 <= attempt <= 1000:
        payload["attemptNumber"] = attempt
    if type(source := raw.get("sourceId")) is str and source:
        payload["sourceId"] = source[:MAX_SOURCE_CHARS]
    return payload, ids


def _association(raw: dict[str, Any], payload: dict[str, Any]) -> list | None:
    """Add the association fields; returns the dedupe parts (None: unusable)."""
    association_type = _tag(raw.get("associationType"))
    from_id = _id_text(raw.get("fromObjectId"))
    to_id = _id_text(raw.get("toObjectId"))
    if association_type is None or from_id is None or to_id is None:
        return None
    removed = raw.get("associationRemoved") is True
    payload.update(
        associationType=association_type,
        fromObjectId=raw["fromObjectId"],
        toObjectId=raw["toObjectId"],
        associationRemoved=removed,
    )
    if type(primary := raw.get("isPrimaryAssociation")) is bool:
        payload["isPrimaryAssociation"] = primary
    return [association_type, from_id, to_id, removed]


def _merge(raw: dict[str, Any], payload: dict[str, Any]) -> None:
    payload.update(
        (key, raw[key])
        for key in ("primaryObjectId", "newObjectId")
        if _id_text(raw.get(key)) is not None
    )
    if type(merged := raw.get("mergedObjectIds")) is list:
        payload["mergedObjectIds"] = [
            item for item in merged[:MAX_MERGED_IDS] if _id_text(item) is not None
        ]
    if type(moved := raw.get("numberOfPropertiesMoved")) is int and moved >= 0:
        payload["numberOfPropertiesMoved"] = moved


def _id_text(value: Any) -> str | None:
    """A positive 64-bit id (a JSON number or a string of digits) in decimal."""
    if type(value) is int:
        return str(value) if 0 < value <= MAX_ID else None
    if type(value) is str and 0 < len(value) <= 19 and value.isascii():
        if value.isdigit() and 0 < int(value) <= MAX_ID:
            return str(int(value))
    return None


def _tag(value: Any) -> str | None:
    """A short code such as CRM_UI or CONTACT_TO_DEAL; None if not a sane one."""
    sane = type(value) is str and 0 < len(value) <= MAX_TAG_CHARS
    return value if sane and value.isprintable() else None


def _scalar_text(value: Any) -> str | None:
    """A property value as text (HubSpot sends strings; numbers are tolerated)."""
    if type(value) is bool:
        return "true" if value else "false"
    return str(value) if type(value) in (str, int, float) else None
