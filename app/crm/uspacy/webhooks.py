"""The portal's outgoing webhook that tells us about changes, through
`/company/v1/webhooks`: leads and contacts created or updated (score them) and
deals moved to another stage (an outcome to learn from); the events are
`contract.WEBHOOK_EVENTS` unless the caller names others.

One webhook per portal, pointed at the portal's own secret URL; registering is
idempotent (a webhook with our URL and every event we need is kept, one missing
events is replaced, a switched-off one is switched on). Uspacy lets only
admins manage webhooks: a 403 comes back as ScopeMissing, for the services to
show the admin how to add it by hand. A new webhook works only once the
validation link it posts to our URL is fetched
(`UspacyAccount.confirm_webhook`).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.crm.base import CrmUnavailable
from app.crm.uspacy import contract, values
from app.crm.uspacy.errors import NotFound
from app.crm.uspacy.portal import PortalApi, unwrapped

EVENTS = contract.WEBHOOK_EVENTS
Events = tuple[tuple[str, tuple[str, ...]], ...]
PAGE_SIZE = 50
MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class WebhookSetup:
    """Our webhook on a portal: created now or found, and whether Uspacy has
    confirmed it (it delivers nothing before)."""

    webhook_id: str
    created: bool
    confirmed: bool


def events_body(events: Events = EVENTS) -> list[dict[str, Any]]:
    """The `events` of our webhook as Uspacy's create call takes them."""
    return [
        {
            "service": contract.WEBHOOK_SERVICE,
            "type": contract.WEBHOOK_TYPE,
            "table_name": table,
            "actions": list(actions),
        }
        for table, actions in events
    ]


def covers(webhook: dict[str, Any], events: Events = EVENTS) -> bool:
    """Whether a webhook delivers every event we listen to."""
    wanted = {(table, action) for table, actions in events for action in actions}
    for event in webhook.get("events") or []:
        if not isinstance(event, dict):
            continue
        if event.get("service", contract.WEBHOOK_SERVICE) != contract.WEBHOOK_SERVICE:
            continue
        table = event.get("table_name")
        for action in event.get("actions") or []:
            wanted -= {(t, a) for t, a in wanted if a == action and table in (None, t)}
    return not wanted


def listed(api: PortalApi) -> Iterator[dict[str, Any]]:
    """Every outgoing webhook of the portal, page by page."""
    for page in range(1, MAX_PAGES + 1):
        answer = api.call(
            "GET",
            contract.WEBHOOKS_PATH,
            params={contract.PAGE_PARAM: page, contract.SIZE_PARAM: PAGE_SIZE},
        )
        rows = answer.get(contract.WRAPPER_KEY) if isinstance(answer, dict) else answer
        yield from (row for row in rows or [] if isinstance(row, dict))
        meta = answer.get("meta") if isinstance(answer, dict) else None
        last = values.count(meta.get("last_page")) if isinstance(meta, dict) else None
        if not rows or last is None or page >= last:
            return


def ensure_webhook(api: PortalApi, url: str, events: Events = EVENTS) -> WebhookSetup:
    """Our webhook pointed at `url`, registered where missing or incomplete."""
    for webhook in listed(api):
        webhook_id = values.record_id(webhook.get("id"))
        if webhook.get("url") != url or webhook_id is None:
            continue
        if not covers(webhook, events):
            _delete(api, webhook_id)
            continue
        if webhook.get("active") is False:
            api.call(
                "PATCH", contract.WEBHOOK_TOGGLE_PATH.format(webhook_id=webhook_id)
            )
        return WebhookSetup(webhook_id, False, webhook.get("confirmed") is True)
    answer = api.call(
        "POST",
        contract.WEBHOOKS_PATH,
        body={
            "name": contract.WEBHOOK_NAME,
            "url": url,
            "active": True,
            "events": events_body(events),
        },
    )
    made = unwrapped(answer) if isinstance(answer, dict) else answer
    confirmed = isinstance(made, dict) and made.get("confirmed") is True
    return WebhookSetup(_created_id(api, made, url), True, confirmed)


def _created_id(api: PortalApi, made: Any, url: str) -> str:
    """The new webhook's id: Uspacy's JS SDK types the create answer as the id,
    its store as the webhook; when neither names it, the list does."""
    webhook_id = values.record_id(made.get("id") if isinstance(made, dict) else made)
    if webhook_id is None:
        webhook_id = next(
            (
                found
                for webhook in listed(api)
                if webhook.get("url") == url
                and (found := values.record_id(webhook.get("id"))) is not None
            ),
            None,
        )
    if webhook_id is None:
        raise CrmUnavailable("Uspacy named no id for the new webhook")
    return webhook_id


def remove_webhooks(api: PortalApi, url: str | None, user_id: str | None) -> int:
    """Delete the webhooks pointed at `url` or made by the app's user; how many."""
    doomed = [
        webhook_id
        for webhook in listed(api)
        if (webhook_id := values.record_id(webhook.get("id"))) is not None
        and (
            (url is not None and webhook.get("url") == url)
            or (
                user_id is not None
                and values.record_id(webhook.get("user_id")) == user_id
            )
        )
    ]
    for webhook_id in doomed:
        _delete(api, webhook_id)
    return len(doomed)


def _delete(api: PortalApi, webhook_id: str) -> None:
    try:
        api.call("DELETE", contract.WEBHOOK_PATH.format(webhook_id=webhook_id))
    except NotFound:
        return  # gone already: what we wanted
