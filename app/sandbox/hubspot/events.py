"""Turning store changes into HubSpot webhook events: which subscriptions a change
matches (classic `contact.*`/`company.*`/`deal.*` and generic `object.*` with
`objectTypeId`) and the payload fields each event type carries (HubSpot's API
documentation and captured deliveries): `changeFlag: CREATED` on creations,
association changes with `fromObjectId`/`toObjectId` but no `objectId`, and who
made the change: `changeSource` `INTEGRATION` with the app's id as `sourceId`
for writes through the API, `CRM_UI` with `userId:<id>` for a person in HubSpot,
`CALCULATED` without `sourceId` for HubSpot's own rollups.

Subscriptions are indexed by (object type, action, property) once per
configuration, so a burst of changes costs one lookup per change.
"""

import random
from typing import Any

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.model import CRM_UI, Account, Change, source_id

ASSOCIATION_FIELDS = (
    "associationType",
    "fromObjectId",
    "toObjectId",
    "associationRemoved",
    "isPrimaryAssociation",
)
MERGE_FIELDS = (
    "primaryObjectId",
    "mergedObjectIds",
    "newObjectId",
    "numberOfPropertiesMoved",
)
ACTIONS = frozenset(
    {
        "creation",
        "deletion",
        "merge",
        "restore",
        "associationChange",
        "privacyDeletion",
        "propertyChange",
    }
)
# HubSpot refuses propertyChange subscriptions to these.
UNSUBSCRIBABLE = frozenset({"hs_lastmodifieddate", "num_unique_conversion_events"})
TYPES_BY_ID = {type_id: otype for otype, type_id in defaults.OBJECT_TYPE_IDS.items()}
SubscriptionIndex = dict[tuple[str, str, str | None], list[dict[str, Any]]]


def check_subscription(sub: dict[str, Any]) -> None:
    """ValueError for a subscription HubSpot would refuse."""
    kind = str(sub.get("subscriptionType") or "")
    prefix, _, action = kind.partition(".")
    if not prefix or action not in ACTIONS:
        raise ValueError(f"unknown subscriptionType: {kind!r}")
    if action == "propertyChange":
        name = sub.get("propertyName")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{kind} needs a propertyName")
        if name in UNSUBSCRIBABLE:
            raise ValueError(f"{name} cannot be subscribed to")


def index_subscriptions(subscriptions: list[dict[str, Any]]) -> SubscriptionIndex:
    """Active subscriptions by (object type, action, property for propertyChange);
    object types the sandbox does not have are left out."""
    index: SubscriptionIndex = {}
    for sub in subscriptions:
        if not sub["active"]:
            continue
        prefix, _, action = str(sub["subscriptionType"]).partition(".")
        if prefix == "object":
            otype = TYPES_BY_ID.get(sub["objectTypeId"])
        else:
            otype = defaults.PLURAL.get(prefix)
        if otype is None:
            continue
        name = sub["propertyName"] if action == "propertyChange" else None
        index.setdefault((otype, action, name), []).append(sub)
    return index


def build_events(
    account: Account,
    change: Change,
    index: SubscriptionIndex,
    rng: random.Random,
    app_id: int,
) -> list[dict[str, Any]]:
    """One webhook event per active subscription the change matches."""
    otype = change["objectType"]
    actions = [change["kind"]]
    if change["kind"] == "privacyDeletion":
        actions.append("deletion")
    name = change.get("propertyName") if change["kind"] == "propertyChange" else None
    return [
        _event(account, change, sub, action, rng, app_id)
        for action in actions
        for sub in index.get((otype, action, name), ())
    ]


def _event(
    account: Account,
    change: Change,
    sub: dict[str, Any],
    action: str,
    rng: random.Random,
    app_id: int,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventId": rng.getrandbits(40) or 1,
        "subscriptionId": sub["id"],
        "portalId": account.hub_id,
        "appId": app_id,
        "occurredAt": change["occurredAt"],
        "subscriptionType": sub["subscriptionType"],
        "attemptNumber": 0,
        "changeSource": change["source"],
    }
    who = source_id(change["source"], account.user_id, app_id)
    if who is not None:
        event["sourceId"] = who
    if sub["subscriptionType"].startswith("object."):
        event["objectTypeId"] = defaults.OBJECT_TYPE_IDS[change["objectType"]]
    if action == "associationChange":
        # Delivered association events carry no objectId, and a change made by a
        # person in HubSpot's UI says `USER` (a captured 2026-08 delivery).
        if change["source"] == CRM_UI:
            event["changeSource"] = "USER"
        for key in ASSOCIATION_FIELDS:
            event[key] = change[key]
        return event
    event["objectId"] = int(change["objectId"])
    if action == "creation":
        event["changeFlag"] = "CREATED"
    elif action == "propertyChange":
        event["propertyName"] = change["propertyName"]
        event["propertyValue"] = change["propertyValue"]
    else:
        for key in MERGE_FIELDS:
            if key in change:
                event[key] = change[key]
    return event


def type_id_of(name: str | None) -> str | None:
    """`contact`/`contacts`/`company`/`0-1` → the object type id (None stays None)."""
    if not name:
        return None
    plural = defaults.PLURAL.get(name, name)
    return defaults.OBJECT_TYPE_IDS.get(plural, name)
