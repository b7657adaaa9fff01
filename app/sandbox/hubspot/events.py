"""Turning store changes into HubSpot webhook events: which subscriptions a change
matches (classic `contact.*`/`deal.*` and generic `object.*` with `objectTypeId`)
and the payload fields each event type carries (HubSpot's API documentation and
captured deliveries): `changeFlag: CREATED` on creations, and association
changes with `fromObjectId`/`toObjectId` but no `objectId`."""

import random
from typing import Any

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.model import Account, Change

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


def build_events(
    account: Account,
    change: Change,
    subscriptions: list[dict[str, Any]],
    rng: random.Random,
    app_id: int,
) -> list[dict[str, Any]]:
    """One webhook event per active subscription the change matches."""
    singular = defaults.SINGULAR[change["objectType"]]
    type_id = defaults.OBJECT_TYPE_IDS[change["objectType"]]
    kinds = [change["kind"]]
    if change["kind"] == "privacyDeletion":
        kinds.append("deletion")
    out = []
    for sub in subscriptions:
        prefix, _, action = str(sub["subscriptionType"]).partition(".")
        if not sub["active"] or action not in kinds:
            continue
        if prefix == "object" and sub["objectTypeId"] != type_id:
            continue
        if prefix not in ("object", singular):
            continue
        if action == "propertyChange" and sub["propertyName"] != change["propertyName"]:
            continue
        out.append(_event(account, change, sub, action, type_id, rng, app_id))
    return out


def _event(
    account: Account,
    change: Change,
    sub: dict[str, Any],
    action: str,
    type_id: str,
    rng: random.Random,
    app_id: int,
) -> dict[str, Any]:
    ui = change["source"] != "INTEGRATION"
    event: dict[str, Any] = {
        "eventId": rng.randrange(1, 2**40),
        "subscriptionId": sub["id"],
        "portalId": account.hub_id,
        "appId": app_id,
        "occurredAt": change["occurredAt"],
        "subscriptionType": sub["subscriptionType"],
        "attemptNumber": 0,
        "changeSource": change["source"],
        "sourceId": f"userId:{account.user_id}" if ui else str(app_id),
    }
    if sub["subscriptionType"].startswith("object."):
        event["objectTypeId"] = type_id
    if action == "associationChange":
        # Delivered association events carry no objectId, and a change made by a
        # person in HubSpot's UI says `USER` (a captured 2026-08 delivery).
        if change["source"] == "CRM_UI":
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
    """`contact`/`contacts`/`0-1` → `0-1` (None stays None)."""
    if not name:
        return None
    plural = name if name.endswith("s") else f"{name}s"
    return defaults.OBJECT_TYPE_IDS.get(plural, name)
