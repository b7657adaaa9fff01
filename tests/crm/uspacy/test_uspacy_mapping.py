"""Mapping Uspacy records to the scoring engine's lead model: Uspacy's unix
seconds become the engine's epoch milliseconds, Uspacy's value shapes (items,
options, references, money) become plain values, and a portal's overrides
change which field each lead field is read from."""

from datetime import UTC, datetime

import pytest

from app.crm.base import ScoreWrite
from app.crm.uspacy import mapping, values
from app.crm.uspacy.field_specs import DEFAULT_CODES
from app.scoring.dates import timestamp_from_number

CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z in Uspacy's unix seconds


def lead_record(**changes):
    record = {
        "id": 101,
        "table_name": "leads",
        "first_name": "Olena",
        "last_name": "Koval",
        "position": "CTO",
        "company_name": "Acme",
        "phone": [{"id": "p1", "type": "work", "value": "380661112233", "main": True}],
        "email": [{"id": "e1", "type": "work", "value": "olena@acme.ua", "main": True}],
        "source": [{"title": "Website", "value": "site", "selected": True}],
        "kanban_stage_id": 11,
        "kanban_status": "IN_WORK",
        "created_at": CREATED,
        "updated_at": CREATED + 60,
        "uf_industry": [
            {"title": "Retail", "value": "retail", "selected": False},
            {"title": "Software", "value": "software", "selected": True},
        ],
        "uf_opens": "12",
        "uf_last_call": CREATED + 3600,
    }
    return record | changes


def test_seconds_become_the_engines_milliseconds():
    lead = mapping.to_lead(lead_record(), mapping.LEAD_SOURCES, "NEW")

    assert lead["create_date"] == CREATED * 1000
    # Read back as the engine reads a number: the same instant.
    assert timestamp_from_number(lead["create_date"]) == CREATED
    assert values.epoch_millis(CREATED) == CREATED * 1000
    assert values.epoch_millis(str(CREATED)) == CREATED * 1000
    assert values.epoch_millis("2026-01-01T00:00:00Z") == CREATED * 1000
    for odd in (None, True, -5, "soon", 10**15, float("nan")):
        assert values.epoch_millis(odd) is None


def test_default_lead_mapping():
    contact = mapping.to_contact(lead_record(), "leads", mapping.LEAD_SOURCES)

    assert contact.lead == {
        "email": "olena@acme.ua",
        "first_name": "Olena",
        "last_name": "Koval",
        "phone": "380661112233",
        "company": "Acme",
        "job_title": "CTO",
        "create_date": CREATED * 1000,
        # No stage code known: the record's own status says it is worked.
        "lead_status": "in_progress",
    }
    assert contact.updated_at == datetime.fromtimestamp(CREATED + 60, UTC)


def test_overrides_change_the_mapping_for_one_portal():
    sources = mapping.sources_for(
        "leads",
        {
            "industry": "uf_industry",
            "email_open_count": "uf_opens",
            "notes_last_updated": "uf_last_call",
            "phone": None,
            "lead_status": "source",
        },
    )

    lead = mapping.to_lead(lead_record(), sources, None)

    assert lead["industry"] == "Software"  # the selected option
    assert lead["email_open_count"] == 12
    assert lead["notes_last_updated"] == (CREATED + 3600) * 1000
    assert lead["lead_status"] == "site"  # an option's value, lower-cased
    assert "phone" not in lead
    # The defaults themselves are left as they were.
    assert mapping.LEAD_SOURCES["phone"] == "phone"


def test_bad_overrides_are_refused():
    for overrides in (
        {"shoe_size": "uf_x"},
        {"industry": "Has Spaces"},
        {"industry": "conturs_score"},  # our own field would loop
        {"industry": 5},
    ):
        with pytest.raises(ValueError):
            mapping.sources_for("leads", overrides)


def test_contacts_read_the_company_reference_and_show_no_signals():
    record = {
        "id": "201",
        "first_name": "Ivan",
        "companies": [{"id": 7, "title": "Globex"}],
        "converted": True,
        "created_at": CREATED,
    }

    contact = mapping.to_contact(record, "contacts", mapping.CONTACT_SOURCES)

    assert contact.ref.record_id == "201"
    assert contact.lead["company"] == "Globex" and contact.company_id == "7"
    assert "lead_status" not in contact.lead
    assert contact.signals == frozenset()
    assert mapping.to_contact({"id": 0}, "contacts", {}) is None


def test_stage_codes_give_status_and_the_converted_signal():
    def status(code, **changes):
        record = lead_record(**changes)
        return mapping.to_lead(record, mapping.LEAD_SOURCES, code)["lead_status"]

    assert status("NEW") == "new"
    assert status("negotiation") == "in_progress"
    assert status("SUCCESS") == "qualified"
    assert status("FAIL") == "unqualified"
    assert status(None, kanban_status="FAIL") == "unqualified"
    won = mapping.to_contact(
        lead_record(), "leads", mapping.LEAD_SOURCES, stage_code="SUCCESS"
    )
    # a won stage is an outcome of the stage change, where stage settings apply
    assert won.signals == frozenset()
    marked = lead_record(converted=True)
    assert mapping.outcome_signals(marked, "leads", "NEW") == frozenset({"converted"})


def test_stored_scores_are_read_back_and_odd_values_ignored():
    scored = lead_record(
        conturs_score=87,
        conturs_label=[{"title": "Гарячий", "value": "hot", "selected": True}],
        conturs_top_factors="Lead Status +15",
        conturs_explanation="Hot: qualified",
        conturs_method="default",
        conturs_scored_at=CREATED,
    )
    stored = mapping.stored_score(scored, DEFAULT_CODES)
    assert (stored.score, stored.label, stored.method) == (87, "Hot", "default")
    assert stored.scored_at == datetime.fromtimestamp(CREATED, UTC)
    odd = mapping.stored_score(
        lead_record(conturs_score=150, conturs_label="tepid", conturs_scored_at="x"),
        DEFAULT_CODES,
    )
    assert (odd.score, odd.label, odd.scored_at) == (None, None, None)


def test_a_write_becomes_uspacys_field_values():
    write = ScoreWrite(
        ref=None,
        score=64,
        label="Warm Lead",
        top_factors="x" * 2000,
        explanation="Warm",
        method="industry_prior",
        scored_at=datetime(2026, 1, 1),  # naive: taken as UTC
    )
    found = mapping.score_values(write, DEFAULT_CODES)
    assert found["conturs_score"] == 64 and found["conturs_label"] == "warm"
    assert found["conturs_scored_at"] == CREATED
    assert len(found["conturs_top_factors"]) == mapping.MAX_TOP_FACTORS_CHARS
    assert mapping.label_value("cold") == "cold"
    assert mapping.label_value("Lukewarm Lead") is None
