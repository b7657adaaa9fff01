"""Turning store changes into HubSpot webhook events: which subscriptions a change
matches (classic `contact.*`/`deal.*` and generic `object.*` with `objectTypeId`)
and the payload fields each event type carries (HubSpot's API documentation)."""

import random
from typing import Any

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.model import Account, Change


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
        "eventId": rng.randrange(1, 4_000_000_000),
        "subscriptionId": sub["id"],
        "portalId": account.hub_id,
        "appId": app_id,
        "occurredAt": change["occurredAt"],
        "subscriptionType": sub["subscriptionType"],
        "attemptNumber": 0,
        "objectId": int(change["objectId"]),
        "changeSource": change["source"],
        "sourceId": f"userId:{account.user_id}" if ui else str(app_id),
    }
    if sub["subscriptionType"].startswith("object."):
        event["objectTypeId"] = type_id
    if action == "creation":
        event["changeFlag"] = "NEW"
    elif action == "propertyChange":
        event["propertyName"] = change["propertyName"]
        event["propertyValue"] = change["propertyValue"]
    else:
        for key in (
            "primaryObjectId",
            "mergedObjectIds",
            "newObjectId",
            "numberOfPropertiesMoved",
            "associationType",
            "fromObjectId",
            "toObjectId",
            "associationRemoved",
            "isPrimaryAssociation",
        ):
            if key in change:
                event[key] = change[key]
    return event


def type_id_of(name: str | None) -> str | None:
    """`contact`/`contacts`/`0-1` → `0-1` (None stays None)."""
    if not name:
        return None
    plural = name if name.endswith("s") else f"{name}s"
    return defaults.OBJECT_TYPE_IDS.get(plural, name)
