"""Outcome signals a HubSpot contact shows (clicked, replied, bounced,
converted), from HubSpot's own properties: as the mapping reads odd values, and
read over real HTTP after the emulated contact clicks, replies, bounces and
becomes a customer."""

import pytest

from app.crm.base import SIGNALS, RecordRef
from app.crm.hubspot.mapping import MAPPED_PROPERTIES, outcome_signals, to_contact
from tests.crm.helpers import HUB_ID


@pytest.mark.parametrize(
    ("values", "signals"),
    [
        ({}, set()),
        ({"hs_email_click": "0", "hs_email_open": "4"}, set()),
        ({"hs_email_click": "2"}, {"clicked"}),
        ({"hs_email_click": "-1"}, set()),
        ({"hs_email_click": "lots"}, set()),
        ({"hs_sales_email_last_replied": "2026-03-01T09:30:00.000Z"}, {"replied"}),
        ({"hs_sales_email_last_replied": "1767225600000"}, {"replied"}),
        ({"hs_sales_email_last_replied": "soon"}, set()),
        ({"hs_sales_email_last_replied": ""}, set()),
        ({"hs_email_hard_bounce_reason_enum": "UNKNOWN_USER"}, {"bounced"}),
        ({"hs_email_hard_bounce_reason_enum": "  "}, set()),
        ({"lifecyclestage": "customer"}, {"converted"}),
        ({"lifecyclestage": "customer", "num_associated_deals": "0"}, {"converted"}),
        # Where deals are used, the won deal is the conversion.
        ({"lifecyclestage": "customer", "num_associated_deals": "1"}, set()),
        ({"lifecyclestage": "opportunity"}, set()),
        ({"lifecyclestage": 7}, set()),
        (
            {
                "hs_email_click": "1",
                "hs_sales_email_last_replied": "2026-03-01",
                "hs_email_hard_bounce_reason_enum": "POLICY",
                "lifecyclestage": "customer",
            },
            set(SIGNALS),
        ),
    ],
)
def test_signals_from_property_values(values, signals):
    assert outcome_signals(values) == signals
    assert to_contact("7", values, None).signals == signals


def test_signals_do_not_follow_the_portals_mapping_overrides():
    values = {"hs_email_click": "0", "custom_clicks": "5"}
    contact = to_contact("7", values, None, {"email_click_count": "custom_clicks"})
    assert contact.lead["email_click_count"] == 5 and contact.signals == frozenset()


def test_every_signal_property_is_read():
    assert {
        "hs_email_click",
        "hs_sales_email_last_replied",
        "hs_email_hard_bounce_reason_enum",
        "lifecyclestage",
        "num_associated_deals",
    } <= set(MAPPED_PROPERTIES)


def test_signals_read_from_hubspot(hubspot, account):
    act = hubspot.act
    quiet = act.create_contact(HUB_ID, email="quiet@acme.example")
    busy = act.create_contact(HUB_ID, email="busy@acme.example")
    act.open_email(HUB_ID, busy, clicked=True)
    act.reply_to_sales_email(HUB_ID, busy)
    act.bounce_email(HUB_ID, busy, "MAILBOX_FULL")
    act.update_contact(HUB_ID, busy, lifecyclestage="customer")
    buyer = act.create_contact(
        HUB_ID, email="buyer@acme.example", lifecyclestage="customer"
    )
    act.create_deal(HUB_ID, [buyer], dealname="Pilot")

    read = {
        c.ref.record_id: c.signals
        for c in account.read_contacts(
            [RecordRef("contacts", i) for i in (quiet, busy, buyer)]
        )
    }

    assert read == {quiet: frozenset(), busy: frozenset(SIGNALS), buyer: frozenset()}
