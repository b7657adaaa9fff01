"""The HubSpot mapping on values HubSpot may send but the emulation would refuse
to store: every odd value counts as absent and nothing raises."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.crm.base import RecordRef, ScoreWrite
from app.crm.hubspot.deals import outcome_of
from app.crm.hubspot.mapping import (
    iso_millis,
    label_option,
    score_properties,
    stored_score,
    to_contact,
    to_lead,
)


@pytest.mark.parametrize(
    ("values", "lead"),
    [
        ({"hs_email_open": "3.0", "hs_email_click": "-1"}, {"email_open_count": 3}),
        ({"hs_email_open": "many", "num_associated_deals": "nan"}, {}),
        ({"hs_email_open": "1e400", "hs_email_click": "inf"}, {}),
        (
            {"createdate": "yesterday", "notes_last_updated": "1767225600000"},
            {"notes_last_updated": "1767225600000"},
        ),
        ({"numemployees": "lots"}, {}),
        ({"numemployees": "1000+"}, {"employee_count": "1000+"}),
        ({"hs_lead_status": "  "}, {}),
        ({"hs_lead_status": "Nurture_Later"}, {"lead_status": "nurture_later"}),
        ({"hs_lead_status": "open_deal"}, {"lead_status": "qualified"}),
        ({"firstname": None, "lastname": 12, "city": "  Lviv "}, {"city": "Lviv"}),
        ({"jobtitle": "x" * 5000}, {"job_title": "x" * 1000}),
    ],
)
def test_odd_values_count_as_absent(values, lead):
    assert to_lead(values) == lead


def test_stored_score_ignores_values_that_are_not_ours():
    stored = stored_score(
        {
            "conturs_score": "150",
            "conturs_label": "Tepid",
            "conturs_scored_at": "not a date",
            "conturs_method": "",
        }
    )
    assert (stored.score, stored.label, stored.scored_at, stored.method) == (
        None,
        None,
        None,
        None,
    )
    assert stored_score({"conturs_score": "42.0"}).score == 42
    assert stored_score({"conturs_scored_at": "1767225600000"}).scored_at == (
        datetime(2026, 1, 1, tzinfo=UTC)
    )


def test_contact_with_garbage_shape_still_maps():
    contact = to_contact("541935488729", None, "2026-01-01")
    assert contact.lead == {} and contact.updated_at is None
    assert to_contact("1", {"associatedcompanyid": "12.5"}, None).company_id is None


def test_labels_become_our_options():
    assert [label_option(x) for x in ("Hot Lead", "Warm", "cool", "Cold Lead")] == [
        "Hot",
        "Warm",
        "Cool",
        "Cold",
    ]
    assert label_option("Lukewarm") is None and label_option("") is None


def test_score_properties_are_checked_and_bounded():
    write = ScoreWrite(
        RecordRef("contacts", "1"),
        55,
        "Cool Lead",
        "f" * 5000,
        "e" * 9000,
        "m",
        datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))),
    )
    values = score_properties(write)
    assert isinstance(values, dict)
    assert values["conturs_scored_at"] == "2026-01-01T10:00:00.000Z"
    assert len(values["conturs_top_factors"]) == 1000
    assert len(values["conturs_explanation"]) == 4000
    assert isinstance(score_properties(replace(write, score=True)), str)
    assert isinstance(score_properties(replace(write, score=-1)), str)
    assert iso_millis(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"


@pytest.mark.parametrize(
    ("metadata", "outcome"),
    [
        ({"isClosed": "true", "probability": "1.0"}, "won"),
        ({"isClosed": "true", "probability": "0.0"}, "lost"),
        ({"isClosed": "TRUE", "probability": "1"}, "won"),
        ({"isClosed": "true", "probability": "0.5"}, "open"),
        ({"isClosed": "false", "probability": "1.0"}, "open"),
        ({"isClosed": "true", "probability": "nan"}, "open"),
        ({"isClosed": "true"}, "open"),
        (None, "open"),
    ],
)
def test_stage_metadata_classifies_outcomes(metadata, outcome):
    assert outcome_of(metadata) == outcome
