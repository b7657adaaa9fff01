"""Bodies of outgoing Uspacy webhooks, in the two variants an app must accept.

`plain`: Uspacy's internal notification format (its JS SDK and store), POSTed as
JSON; the confirmation is `{type: "confirmation", webhook_id, validation_link}`.
`sns`: the same event JSON as the string `Message` of an AWS SNS `Notification`,
POSTed as `text/plain` with SNS's `x-amz-sns-*` headers, as SNS does; the
handshake is a `SubscriptionConfirmation` whose `SubscribeURL` must be fetched.
Both are ASSUMED (Uspacy documents neither); SNS's signature cannot be made
verifiable here, so `Signature` is a placeholder the app must not rely on.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

TOPIC = "arn:aws:sns:eu-central-1:000000000000:uspacy-webhooks-{webhook_id}"


def _iso(now: float) -> str:
    return (
        datetime.fromtimestamp(now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


def event(
    now: float, action: str, entity: dict, old: dict | None, user_id: int
) -> dict[str, Any]:
    """The event Uspacy sends for a record change (`action` ∈ create | update |
    delete | updateStage)."""
    return {
        "id": str(uuid.uuid4()),
        "type": "entity_crm",
        "env": "sandbox",
        "createdAt": int(now * 1000),
        "data": {
            "service": "crm",
            "action": action,
            "timestamp": datetime.fromtimestamp(now, tz=UTC).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            ),
            "user_id": user_id,
            "entity": entity,
            "old_entity": old or {},
            "root_parent": {},
        },
    }


def confirmation(webhook_id: int, link: str) -> dict[str, Any]:
    """The plain confirmation request."""
    return {"type": "confirmation", "webhook_id": webhook_id, "validation_link": link}


def _sns(kind: str, webhook_id: int, now: float, **fields: Any) -> dict[str, Any]:
    return {
        "Type": kind,
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC.format(webhook_id=webhook_id),
        **fields,
        "Timestamp": _iso(now),
        "SignatureVersion": "1",
        "Signature": "c2FuZGJveA==",
        "SigningCertURL": "https://sns.eu-central-1.amazonaws.com/sandbox.pem",
    }


def sns_confirmation(webhook_id: int, link: str, now: float) -> dict[str, Any]:
    """An SNS `SubscriptionConfirmation` carrying the link as `SubscribeURL`."""
    return _sns(
        "SubscriptionConfirmation",
        webhook_id,
        now,
        Token=link.rsplit("token=", 1)[-1],
        Message="You have chosen to subscribe to the topic. To confirm the "
        "subscription, visit the SubscribeURL included in this message.",
        SubscribeURL=link,
    )


def sns_notification(webhook_id: int, body: dict[str, Any], now: float) -> dict:
    """An SNS `Notification` with the event as a JSON string in `Message`."""
    return _sns(
        "Notification",
        webhook_id,
        now,
        Subject=None,
        Message=json.dumps(body, separators=(",", ":")),
    )


def post_options(envelope: str, body: dict[str, Any]) -> dict[str, Any]:
    """`requests` options to POST `body` the way the variant sends it."""
    if envelope != "sns":
        return {"json": body}
    return {
        "data": json.dumps(body).encode(),
        "headers": {
            "Content-Type": "text/plain; charset=UTF-8",
            "x-amz-sns-message-type": body["Type"],
            "x-amz-sns-message-id": body["MessageId"],
            "x-amz-sns-topic-arn": body["TopicArn"],
        },
    }
