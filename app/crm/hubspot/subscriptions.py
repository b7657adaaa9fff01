"""The HubSpot webhook subscriptions the app needs, as data.

One list is the source for the developer project's `webhooks-hsmeta.json`
(manifest.py) and for the webhook handlers: each subscription has a `key`, and an
incoming event has the same key (`event_key`), so a handler registry can be checked
against this list with `handler_gaps` — every subscription has a handler and every
handler a subscription.

Event types are HubSpot's classic `contact.*`/`deal.*` names (reference: HubSpot
webhooks, subscription types for contacts and deals); they are also the
`subscriptionType` each delivered event carries.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# Contact properties the default mapping reads to score a contact. `createdate`
# is read too, but it never changes, so subscribing to it would bring nothing.
INPUT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "city",
    "country",
    "industry",
    "hs_email_open",
    "hs_email_click",
    "hs_lead_status",
    "num_associated_deals",
    "notes_last_updated",
    "numemployees",
)
# Contact properties whose change is (or may be) an outcome to learn from:
# a lifecycle move, an email hard bounce, a reply to a sales email.
OUTCOME_PROPERTIES = (
    "lifecyclestage",
    "hs_email_hard_bounce_reason_enum",
    "hs_sales_email_last_replied",
)
DEAL_STAGE_PROPERTY = "dealstage"

# Our own properties: a subscription to one of them would turn every score we
# write into a webhook and the webhook into another scoring run.
OWN_PROPERTY_PREFIX = "conturs_"
# HubSpot refuses propertyChange subscriptions to these; `createdate` never
# changes after creation.
UNSUBSCRIBABLE_PROPERTIES = frozenset(
    {"num_unique_conversion_events", "hs_lastmodifieddate", "createdate"}
)
# The event types HubSpot offers per object (classic format).
SUPPORTED_ACTIONS = {
    "contact": frozenset(
        {
            "creation",
            "deletion",
            "merge",
            "associationChange",
            "restore",
            "privacyDeletion",
            "propertyChange",
        }
    ),
    "deal": frozenset(
        {
            "creation",
            "deletion",
            "associationChange",
            "restore",
            "merge",
            "propertyChange",
        }
    ),
}
# HubSpot allows at most 1,000 subscriptions per app.
MAX_SUBSCRIPTIONS = 1000


class Purpose(StrEnum):
    """Why the app listens to an event: what its handler does with it."""

    # A contact appeared, merged or disappeared: score it, move or drop its data.
    LIFECYCLE = "lifecycle"
    # A GDPR deletion: purge every trace of the contact.
    PRIVACY = "privacy"
    # A value the score is computed from changed: rescore the contact.
    INPUT = "input"
    # Something that tells how a scored lead turned out: record feedback.
    OUTCOME = "outcome"


@dataclass(frozen=True, slots=True)
class Subscription:
    """One webhook subscription: an object's event, for one property if it is a
    property change."""

    object_type: str
    action: str
    purpose: Purpose
    property_name: str | None = None

    @property
    def subscription_type(self) -> str:
        """HubSpot's event type, e.g. `contact.propertyChange`."""
        return f"{self.object_type}.{self.action}"

    @property
    def key(self) -> str:
        """The name a handler is registered under (see `event_key`)."""
        return event_key(self.subscription_type, self.property_name)


def event_key(subscription_type: str, property_name: str | None = None) -> str:
    """The key of an incoming event: its type, plus `:property` for a property
    change, so one property's handler never receives another's events."""
    if subscription_type.endswith(".propertyChange") and property_name:
        return f"{subscription_type}:{property_name}"
    return subscription_type


def check_subscriptions(subscriptions: Iterable[Subscription]) -> None:
    """Refuse a subscription list HubSpot would reject or that would loop on our
    own writes; raises ValueError naming every problem."""
    problems: list[str] = []
    seen: set[str] = set()
    count = 0
    for sub in subscriptions:
        count += 1
        actions = SUPPORTED_ACTIONS.get(sub.object_type, frozenset())
        if sub.action not in actions:
            problems.append(f"{sub.subscription_type}: not a HubSpot event type")
        if (sub.action == "propertyChange") != bool(sub.property_name):
            problems.append(
                f"{sub.subscription_type}: a property name goes with "
                "propertyChange and only with it"
            )
        name = sub.property_name or ""
        if name.startswith(OWN_PROPERTY_PREFIX):
            problems.append(f"{sub.key}: our own property would rescore in a loop")
        if name in UNSUBSCRIBABLE_PROPERTIES:
            problems.append(f"{sub.key}: HubSpot sends no change events for it")
        if sub.key in seen:
            problems.append(f"{sub.key}: subscribed twice")
        seen.add(sub.key)
    if count > MAX_SUBSCRIPTIONS:
        problems.append(f"{count} subscriptions: HubSpot allows {MAX_SUBSCRIPTIONS}")
    if problems:
        raise ValueError("; ".join(problems))


def _contact_property(name: str, purpose: Purpose) -> Subscription:
    return Subscription("contact", "propertyChange", purpose, name)


SUBSCRIPTIONS: tuple[Subscription, ...] = (
    Subscription("contact", "creation", Purpose.LIFECYCLE),
    Subscription("contact", "deletion", Purpose.LIFECYCLE),
    Subscription("contact", "merge", Purpose.LIFECYCLE),
    # A contact back from the recycle bin is scored again.
    Subscription("contact", "restore", Purpose.LIFECYCLE),
    # HubSpot also sends `contact.deletion` for it, in any order and batch.
    Subscription("contact", "privacyDeletion", Purpose.PRIVACY),
    *(_contact_property(name, Purpose.INPUT) for name in INPUT_PROPERTIES),
    *(_contact_property(name, Purpose.OUTCOME) for name in OUTCOME_PROPERTIES),
    # A deal closing won or lost is the outcome for its contacts.
    Subscription("deal", "propertyChange", Purpose.OUTCOME, DEAL_STAGE_PROPERTY),
    # A contact linked to an already closed deal shares its outcome; a linked
    # deal also moves `num_associated_deals`. HubSpot sends one event per side,
    # so the deal side is enough.
    Subscription("deal", "associationChange", Purpose.OUTCOME),
    # A deleted deal takes back the outcome it gave, a restored one gives it
    # again, and merged deals leave one outcome. A new deal needs no event of its
    # own: it has no outcome before a stage change or a linked contact.
    Subscription("deal", "deletion", Purpose.OUTCOME),
    Subscription("deal", "restore", Purpose.OUTCOME),
    Subscription("deal", "merge", Purpose.OUTCOME),
)
check_subscriptions(SUBSCRIPTIONS)

SUBSCRIPTION_KEYS = frozenset(sub.key for sub in SUBSCRIPTIONS)


@dataclass(frozen=True, slots=True)
class HandlerGaps:
    """Subscriptions nobody handles, and handlers nothing is subscribed for."""

    unhandled: frozenset[str]
    unsubscribed: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.unhandled or self.unsubscribed)


def handler_gaps(handled_keys: Iterable[str]) -> HandlerGaps:
    """Compare a handler registry's keys with the subscriptions; empty gaps mean
    every subscription has a handler and every handler a subscription."""
    handled = frozenset(handled_keys)
    return HandlerGaps(SUBSCRIPTION_KEYS - handled, handled - SUBSCRIPTION_KEYS)
