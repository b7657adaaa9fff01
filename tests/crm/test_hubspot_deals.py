"""Deal outcomes read from HubSpot: the deal's stage classified from pipeline
metadata, its contacts, and the pipeline cache refreshed on an unknown stage."""

from datetime import UTC, datetime

from tests.crm.helpers import HUB_ID

PIPELINES = "GET /crm/v3/pipelines/deals"


def test_deal_outcome_follows_its_stage(hubspot, account):
    people = [hubspot.act.create_contact(HUB_ID) for _ in range(2)]
    deal = hubspot.act.create_deal(
        HUB_ID, people, dealname="Pilot", dealstage="appointmentscheduled"
    )

    opened = account.read_deal(deal)
    assert opened is not None
    assert (opened.deal_id, opened.stage_id, opened.pipeline_id) == (
        deal,
        "appointmentscheduled",
        "default",
    )
    assert opened.outcome == "open" and opened.closed_at is None
    assert sorted(opened.contact_ids) == sorted(people)
    assert int(deal) > 2**31

    hubspot.act.update_deal(
        HUB_ID, deal, dealstage="closedwon", closedate="2026-03-02T10:00:00Z"
    )
    won = account.read_deal(deal)
    assert won is not None and won.outcome == "won"
    assert won.closed_at == datetime(2026, 3, 2, 10, tzinfo=UTC)

    hubspot.act.move_deal(HUB_ID, deal, "closedlost")
    lost = account.read_deal(deal)
    assert lost is not None and lost.outcome == "lost"
    # Pipelines were fetched once and reused for the three reads.
    assert hubspot.calls(HUB_ID)[PIPELINES] == 1


def test_a_new_pipeline_is_fetched_when_a_deal_enters_it(hubspot, account):
    deal = hubspot.act.create_deal(HUB_ID, dealstage="qualifiedtobuy")
    assert account.read_deal(deal).outcome == "open"
    hubspot.add_pipeline(
        HUB_ID,
        "renewals",
        "Renewals",
        [
            ("90001", "Up for renewal", "0.5", False),
            ("90002", "Renewed", "1.0", True),
            ("90003", "Churned", "0.0", True),
        ],
    )
    hubspot.act.move_deal(HUB_ID, deal, "90002")

    renewed = account.read_deal(deal)

    assert renewed is not None
    assert (renewed.pipeline_id, renewed.outcome) == ("renewals", "won")
    assert hubspot.calls(HUB_ID)[PIPELINES] == 2
    hubspot.act.move_deal(HUB_ID, deal, "90003")
    assert account.read_deal(deal).outcome == "lost"
    assert hubspot.calls(HUB_ID)[PIPELINES] == 2


def test_a_deal_without_contacts_or_that_does_not_exist(hubspot, account):
    deal = hubspot.act.create_deal(HUB_ID, dealstage="closedwon")
    alone = account.read_deal(deal)
    assert alone is not None and alone.contact_ids == [] and alone.outcome == "won"
    assert account.read_deal(str(int(deal) + 10**6)) is None
    assert account.read_deal("../contacts") is None
    hubspot.act.delete(HUB_ID, "deals", deal)
    assert account.read_deal(deal) is None
