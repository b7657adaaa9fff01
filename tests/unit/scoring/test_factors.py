"""Each factor's value at its boundaries."""

from datetime import UTC, datetime, timedelta

import pytest

from app.scoring import FACTOR_KEYS, LeadFieldError, factor_values
from app.scoring.icp import IdealCustomerProfile

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def value(lead: dict, key: str, icp: IdealCustomerProfile | None = None) -> float:
    values = factor_values(lead, NOW.timestamp(), *(icp,) if icp else ())
    return values[FACTOR_KEYS.index(key)]


@pytest.mark.parametrize(
    ("email", "source", "valid"),
    [
        ("", 0.0, 0.0),
        ("   ", 0.0, 0.0),
        ("jane@startup.io", 1.0, 1.0),
        ("Jane.Doe+x@mail.example.co.uk", 1.0, 1.0),
        ("not-an-email", 1.0, 0.0),
        ("two@@example.com", 1.0, 0.0),
        ("jane@localhost", 1.0, 0.0),
        ("jane doe@example.com", 1.0, 0.0),
        ("@example.com", 1.0, 0.0),
    ],
)
def test_lead_source_and_valid_email(email: str, source: float, valid: float) -> None:
    assert value({"email": email}, "lead_source") == source
    assert value({"email": email}, "has_valid_email") == valid


def test_company_match_needs_a_non_blank_company() -> None:
    assert value({"company": "Acme"}, "has_company_match") == 1.0
    assert value({"company": " "}, "has_company_match") == 0.0
    assert value({}, "has_company_match") == 0.0


def test_industry_without_icp_is_presence() -> None:
    assert value({"industry": "Retail"}, "industry_match") == 1.0
    assert value({"industry": ""}, "industry_match") == 0.0


def test_industry_with_icp_matches_verticals() -> None:
    icp = IdealCustomerProfile(
        industries=frozenset({"software"}),
        vertical_of=lambda text: "software" if "software" in text.lower() else None,
    )
    assert value({"industry": "Computer Software"}, "industry_match", icp) == 1.0
    assert value({"industry": "Retail"}, "industry_match", icp) == 0.0
    assert value({}, "industry_match", icp) == 0.0


def _ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    ("create_date", "expected"),
    [
        (_ago(days=0), 1.0),
        (_ago(hours=23, minutes=59), 1.0),  # whole days, truncated
        (_ago(days=1), 1 - 1 / 90),
        (_ago(days=30), 1 - 30 / 90),
        (_ago(days=45, hours=23), 0.5),
        (_ago(days=89, hours=23), 1 - 89 / 90),
        (_ago(days=90), 0.0),
        (_ago(days=400), 0.0),
        (_ago(days=-10), 1.0),  # future dates clamp to 1
        ("2026-06-05", 1 - 10 / 90),  # date only: midnight UTC, 10 d 12 h ago
        ("2026-06-05T11:59:59.5Z", 1 - 10 / 90),
        ("2026-06-05T14:00:00+02:00", 1 - 10 / 90),
        ("2026-06-05T12:00:00", 1 - 10 / 90),  # no zone: read as UTC
        ("2026/06/05", 1 - 10 / 90),
        (str(int((NOW - timedelta(days=20)).timestamp() * 1000)), 1 - 20 / 90),
        (int((NOW - timedelta(days=20)).timestamp() * 1000), 1 - 20 / 90),
        ("yesterday", 0.0),
        ("2026-13-45", 0.0),
        ("", 0.0),
        ("123", 0.0),
        (None, 0.0),
    ],
)
def test_recency_from_create_date(create_date: object, expected: float) -> None:
    assert value({"create_date": create_date}, "days_since_created") == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("qualified", 1.0),
        ("QUALIFIED", 1.0),
        ("In_Progress", 0.7),
        ("open", 0.5),
        ("new", 0.3),
        ("unqualified", 0.1),
        ("customer", 0.5),
        ("", 0.0),
        (None, 0.0),
    ],
)
def test_lead_status(status: object, expected: float) -> None:
    assert value({"lead_status": status}, "lead_status") == expected


@pytest.mark.parametrize(
    ("opens", "clicks", "expected"),
    [
        (0, 0, 0.0),
        (10, 0, 0.4),
        (0, 3, 0.6),
        (5, 1, 0.2 + 0.2),
        (10, 3, 1.0),
        (12, 5, 1.0),  # capped
        (1000, 1000, 1.0),
        (-5, -2, 0.0),  # negative counts read as none
        ("10", "3", 1.0),  # numeric strings are accepted
        ("", None, 0.0),
    ],
)
def test_engagement(opens: object, clicks: object, expected: float) -> None:
    lead = {"email_open_count": opens, "email_click_count": clicks}
    assert value(lead, "engagement_score") == pytest.approx(expected)


def test_profile_completeness_counts_nine_fields() -> None:
    full = {
        "email": "a@b.co",
        "first_name": "A",
        "last_name": "B",
        "company": "C",
        "job_title": "D",
        "phone": "1",
        "city": "E",
        "country": "F",
        "industry": "G",
        "lead_status": "open",  # not one of the nine
    }
    assert value(full, "profile_completeness") == 1.0
    assert value({"email": "a@b.co"}, "profile_completeness") == pytest.approx(1 / 9)
    assert value(
        {"firstname": "A", "lastname": "B", "jobtitle": "C"}, "profile_completeness"
    ) == pytest.approx(3 / 9)
    assert value({}, "profile_completeness") == 0.0


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("CEO", 1.0),
        ("Co-Founder", 1.0),
        ("Business Owner", 1.0),
        ("Director of Sales", 0.8),
        ("SVP Marketing", 0.8),
        ("Chief Revenue Officer", 0.8),
        ("Marketing Manager", 0.6),
        ("Head of Growth", 0.6),
        ("Engineer", 0.3),
        ("", 0.0),
    ],
)
def test_company_size_from_seniority(title: str, expected: float) -> None:
    assert value({"job_title": title}, "company_size_bucket") == expected
    assert value({"jobtitle": title}, "company_size_bucket") == expected


@pytest.mark.parametrize(
    ("employees", "expected"),
    [(100, 1.0), (50, 1.0), (200, 1.0), ("25-50", 0.875), ("1000+", 0.3), (20, 0.6)],
)
def test_company_size_with_icp_range(employees: object, expected: float) -> None:
    icp = IdealCustomerProfile(size_range=(50, 200))
    lead = {"employee_count": employees, "job_title": "CEO"}
    assert value(lead, "company_size_bucket", icp) == pytest.approx(expected, abs=0.01)


def test_company_size_with_icp_but_no_count_uses_seniority() -> None:
    icp = IdealCustomerProfile(size_range=(50, 200))
    assert value({"job_title": "VP Sales"}, "company_size_bucket", icp) == 0.8


@pytest.mark.parametrize(
    ("lead", "expected"),
    [
        ({"num_deals": 1}, 0.7),
        ({"num_deals": 2, "notes_last_updated": _ago(days=400)}, 0.7),
        ({"num_deals": 0, "notes_last_updated": _ago(days=29, hours=23)}, 0.5),
        ({"notes_last_updated": _ago(days=30)}, 0.2),
        ({"notes_last_updated": _ago(days=-3)}, 0.5),
        ({"notes_last_updated": "garbage"}, 0.2),
        ({}, 0.2),
    ],
)
def test_activity_recency(lead: dict, expected: float) -> None:
    assert value(lead, "recency_score") == expected


@pytest.mark.parametrize(
    ("lead", "field"),
    [
        ({"company": {"name": "Acme"}}, "company"),
        ({"email": ["a@b.co"]}, "email"),
        ({"first_name": True}, "first_name"),
        ({"email_open_count": "many"}, "email_open_count"),
        ({"email_click_count": [1]}, "email_click_count"),
        ({"num_deals": {"n": 1}}, "num_deals"),
        ({"create_date": {"at": 1}}, "create_date"),
        ({"employee_count": "lots"}, "employee_count"),
    ],
)
def test_unreadable_types_name_the_field(lead: dict, field: str) -> None:
    icp = IdealCustomerProfile(size_range=(1, 10))
    with pytest.raises(LeadFieldError) as caught:
        factor_values(lead, NOW.timestamp(), icp)
    assert caught.value.field == field


def test_numbers_read_as_text_and_extremes_do_not_break() -> None:
    lead = {
        "phone": 15551234567,
        "email_open_count": 10**30,
        "num_deals": 1e308,
        "create_date": 10**30,
        "notes_last_updated": -1e300,
    }
    values = factor_values(lead, NOW.timestamp())
    assert all(0.0 <= v <= 1.0 for v in values)
    with pytest.raises(LeadFieldError):
        factor_values({"company": float("nan")}, NOW.timestamp())


def test_unknown_fields_are_ignored() -> None:
    assert factor_values({"favourite_colour": {"x": 1}}, NOW.timestamp()) == (
        factor_values({}, NOW.timestamp())
    )
