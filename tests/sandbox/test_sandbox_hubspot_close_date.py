"""HubSpot sets a deal's close date itself when the deal moves into a closed-won
or closed-lost stage (also won ↔ lost), not for won → won or an open move, and
never over a close date the same change sets (knowledge base: "HubSpot's default
deal properties", Close date)."""

from app.sandbox.clock import ManualClock
from app.sandbox.hubspot.values import iso

HUB = 48213377


def _close_date(hubspot, deal_id: str) -> str | None:
    return hubspot.get_object(HUB, "deals", deal_id)["properties"].get("closedate")


def test_closing_a_deal_sets_its_close_date(hubspot, clock: ManualClock):
    hubspot.create_account(HUB)
    act = hubspot.act
    deal = act.create_deal(
        HUB, dealname="Pilot", dealstage="appointmentscheduled", pipeline="default"
    )
    assert not _close_date(hubspot, deal)
    clock.advance(3600)
    act.move_deal(HUB, deal, "qualifiedtobuy")
    assert not _close_date(hubspot, deal)

    clock.advance(3600)
    won_at = iso(clock.now())
    act.move_deal(HUB, deal, "closedwon")
    assert _close_date(hubspot, deal) == won_at

    clock.advance(3600)
    act.move_deal(HUB, deal, "closedwon")  # won → won: unchanged
    assert _close_date(hubspot, deal) == won_at

    clock.advance(3600)
    lost_at = iso(clock.now())
    act.move_deal(HUB, deal, "closedlost")  # won → lost: set again
    assert _close_date(hubspot, deal) == lost_at

    clock.advance(3600)
    act.update_deal(HUB, deal, dealstage="closedwon", closedate="2026-01-05T00:00:00Z")
    assert _close_date(hubspot, deal) == "2026-01-05T00:00:00.000Z"
