"""Reading contacts from HubSpot into lead fields, paging through all of them,
and writing scores back, over real HTTP against the emulation."""

from datetime import UTC, datetime

import pytest

from app.crm.base import RecordRef, ScoreWrite, StoredScore
from app.crm.hubspot.mapping import MAPPED_PROPERTIES
from tests.crm.helpers import HUB_ID


def contacts(refs_of: list[str]) -> list[RecordRef]:
    return [RecordRef("contacts", i) for i in refs_of]


def score(record_id: str, value: int = 87, label: str = "Hot Lead") -> ScoreWrite:
    return ScoreWrite(
        ref=RecordRef("contacts", record_id),
        score=value,
        label=label,
        top_factors="Lead Status +20, Engagement +14",
        explanation="Hot: qualified status, CEO title\nmissing: phone",
        method="default",
        scored_at=datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC),
    )


def test_mapped_properties_name_everything_the_mapping_reads():
    assert sorted(MAPPED_PROPERTIES) == sorted(
        "email firstname lastname phone company jobtitle city country industry "
        "hs_email_open hs_email_click hs_lead_status num_associated_deals "
        "createdate notes_last_updated numemployees associatedcompanyid "
        "hs_sales_email_last_replied hs_email_hard_bounce_reason_enum lifecyclestage "
        "conturs_score conturs_label conturs_top_factors conturs_explanation "
        "conturs_method conturs_scored_at".split()
    )


def test_read_maps_a_contact_to_lead_fields(hubspot, account, kept):
    contact = hubspot.act.create_contact(
        HUB_ID,
        email="olena@acme.example",
        firstname="Olena",
        lastname="Koval",
        phone="+380661112233",
        company="Acme",
        jobtitle="CEO",
        city="Kyiv",
        country="Ukraine",
        industry="Software",
        hs_lead_status="CONNECTED",
        numemployees="25-50",
    )
    company = hubspot.act.create_company(HUB_ID, name="Acme")
    hubspot.act.associate_company(HUB_ID, contact, company)
    hubspot.act.open_email(HUB_ID, contact, clicked=True)
    hubspot.act.open_email(HUB_ID, contact)
    hubspot.act.log_activity(HUB_ID, contact)
    hubspot.act.create_deal(HUB_ID, [contact], dealname="Pilot")

    [read] = account.read_contacts(contacts([contact]))

    assert read.ref == RecordRef("contacts", contact)
    assert read.company_id == company and len(company) >= 11
    assert read.updated_at is not None and read.updated_at.tzinfo is not None
    lead = dict(read.lead)
    created, notes = lead.pop("create_date"), lead.pop("notes_last_updated")
    assert created.startswith("20") and notes.startswith("20")
    assert lead == {
        "email": "olena@acme.example",
        "first_name": "Olena",
        "last_name": "Koval",
        "phone": "+380661112233",
        "company": "Acme",
        "job_title": "CEO",
        "city": "Kyiv",
        "country": "Ukraine",
        "industry": "Software",
        "email_open_count": 2,
        "email_click_count": 1,
        "lead_status": "in_progress",
        "num_deals": 1,
        "employee_count": "25-50",
    }
    assert read.stored == StoredScore(None, None, None, None, None, None)


@pytest.mark.parametrize(
    ("status", "mapped"),
    [
        ("NEW", "new"),
        ("OPEN", "open"),
        ("IN_PROGRESS", "in_progress"),
        ("OPEN_DEAL", "qualified"),
        ("UNQUALIFIED", "unqualified"),
        ("ATTEMPTED_TO_CONTACT", "open"),
        ("BAD_TIMING", "open"),
    ],
)
def test_lead_statuses_map_to_the_engine_statuses(hubspot, account, status, mapped):
    contact = hubspot.act.create_contact(HUB_ID, hs_lead_status=status)
    [read] = account.read_contacts(contacts([contact]))
    assert read.lead["lead_status"] == mapped


def test_sparse_contact_leaves_absent_fields_out(hubspot, account):
    contact = hubspot.act.create_contact(HUB_ID, email="x@y.example")
    [read] = account.read_contacts(contacts([contact]))
    assert set(read.lead) == {"email", "create_date", "num_deals"}
    assert read.lead["num_deals"] == 0 and read.company_id is None


def test_read_splits_above_100_and_omits_missing_ids(hubspot, account):
    ids = [hubspot.act.create_contact(HUB_ID, firstname=f"n{i}") for i in range(130)]
    assert all(int(i) > 2**31 for i in ids)
    assert {len(i) for i in ids} == {11, 12}  # ids cross from 11 to 12 digits
    missing = str(int(ids[-1]) + 10**6)
    # Duplicates and ids that cannot be HubSpot's are not sent.
    refs = contacts(ids + [missing, ids[0], "not-an-id"])

    read = account.read_contacts(refs)

    assert [c.ref.record_id for c in read] == ids
    assert read[129].lead["first_name"] == "n129"
    assert hubspot.calls(HUB_ID)["POST /crm/v3/objects/contacts/batch/read"] == 2
    assert account.read_contacts([]) == []


def test_read_refuses_records_hubspot_does_not_have(account):
    with pytest.raises(ValueError):
        account.read_contacts([RecordRef("leads", "12")])


def test_list_pages_through_every_contact(hubspot, account):
    ids = [hubspot.act.create_contact(HUB_ID, firstname=f"n{i}") for i in range(230)]
    hubspot.act.delete(HUB_ID, "contacts", ids[5])
    seen, cursor, pages = [], None, 0
    while True:
        page = account.list_contacts("contacts", cursor)
        pages += 1
        assert len(page.contacts) <= 100
        seen += [c.ref.record_id for c in page.contacts]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert seen == [i for i in ids if i != ids[5]]
    small = account.list_contacts("contacts", None, limit=7)
    assert len(small.contacts) == 7 and small.next_cursor


def test_list_refuses_other_object_types(account):
    with pytest.raises(ValueError):
        account.list_contacts("deals", None)


def test_scores_are_written_and_read_back(hubspot, account):
    account.ensure_fields()
    contact = hubspot.act.create_contact(HUB_ID, email="a@b.example")

    assert account.write_scores([score(contact)]) == []

    stored = hubspot.get_object(HUB_ID, "contacts", contact)["properties"]
    assert stored["conturs_score"] == "87" and stored["conturs_label"] == "Hot"
    assert stored["conturs_scored_at"] == "2026-03-01T09:30:15.250Z"
    [read] = account.read_contacts(contacts([contact]))
    assert read.stored == StoredScore(
        score=87,
        label="Hot",
        top_factors="Lead Status +20, Engagement +14",
        explanation="Hot: qualified status, CEO title\nmissing: phone",
        method="default",
        scored_at=datetime(2026, 3, 1, 9, 30, 15, 250_000, tzinfo=UTC),
    )
    writes = [w for w in hubspot.writes(HUB_ID) if w.get("objectId") == contact]
    assert writes, "the write is recorded as the app's own"


def test_a_missing_contact_fails_alone_in_a_207(hubspot, account):
    account.ensure_fields()
    ids = [hubspot.act.create_contact(HUB_ID, firstname=f"n{i}") for i in range(3)]
    missing = str(int(ids[-1]) + 10**6)

    failures = account.write_scores([score(i) for i in ids] + [score(missing)])

    assert [f.ref.record_id for f in failures] == [missing]
    assert "OBJECT_NOT_FOUND" in failures[0].reason
    assert failures[0].retryable is False
    for i in ids:
        assert (
            hubspot.get_object(HUB_ID, "contacts", i)["properties"]["conturs_score"]
            == "87"
        )


def test_bad_writes_fail_before_sending_and_the_rest_go_through(hubspot, account):
    account.ensure_fields()
    good, other = (hubspot.act.create_contact(HUB_ID) for _ in range(2))

    failures = account.write_scores(
        [
            score(good, label="Warm Lead", value=65),
            score(other, label="Lukewarm"),
            score(other, value=101),
            score("12x"),
            score(good, label="cold", value=12),  # the later write wins
        ]
    )

    assert sorted((f.ref.record_id, f.retryable) for f in failures) == [
        ("12x", False),
        (other, False),
        (other, False),
    ]
    props = hubspot.get_object(HUB_ID, "contacts", good)["properties"]
    assert (props["conturs_score"], props["conturs_label"]) == ("12", "Cold")
    assert hubspot.get_object(HUB_ID, "contacts", other)["properties"].get(
        "conturs_score"
    ) in (None, "")


def test_writes_split_into_batches_of_100(hubspot, account):
    account.ensure_fields()
    ids = [hubspot.act.create_contact(HUB_ID) for _ in range(205)]

    writes = [score(i, value=45, label="Cool Lead") for i in ids]
    assert account.write_scores(writes) == []

    assert hubspot.calls(HUB_ID)["POST /crm/v3/objects/contacts/batch/update"] == 3
    assert {
        hubspot.get_object(HUB_ID, "contacts", i)["properties"]["conturs_label"]
        for i in ids
    } == {"Cool"}


def test_writes_without_our_properties_fail_per_record(hubspot, account):
    contact = hubspot.act.create_contact(HUB_ID)
    [failure] = account.write_scores([score(contact)])
    assert failure.ref.record_id == contact and not failure.retryable
    assert "VALIDATION_ERROR" in failure.reason
