"""A stated profile stays small whoever writes it: short texts, at most 50 ICP
industries stored as their distinct verticals, no booleans as sizes, nothing a
database cannot store; and lead industries of any length never fill the taxonomy's
cache."""

import pytest

from app.models import Client
from app.personalization.profile import (
    MAX_ICP_INDUSTRIES,
    MAX_PROFILE_TEXT_CHARS,
    ClientProfile,
    check_stated,
)
from app.personalization.taxonomy import vertical_of
from app.services.learning.clients import ClientError
from app.services.learning.profiles import profile_of, update_stated_profile


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"icp_industries": ["Retail"] * (MAX_ICP_INDUSTRIES + 1)}, "at most 50"),
        ({"icp_industries": ["r" * (MAX_PROFILE_TEXT_CHARS + 1)]}, "at most 100"),
        ({"icp_industries": ("Retail", 7)}, "list of industries"),
        ({"icp_industries": "Retail"}, "list of industries"),
        ({"industry": "i" * (MAX_PROFILE_TEXT_CHARS + 1)}, "industry must be at most"),
        ({"industry": "Retail\x00"}, "industry must not contain NUL"),
        ({"country": "D\udce9"}, "country must be valid Unicode"),
        ({"company_size": False}, "company_size must be a number"),
        ({"icp_company_sizes": True}, "icp_company_sizes must be a number"),
        ({"icp_company_sizes": "5" * 101}, "icp_company_sizes must be at most"),
    ],
)
def test_stated_values_beyond_limits_are_refused_naming_the_field(
    changes, message
) -> None:
    with pytest.raises(ValueError, match=message):
        check_stated(changes)
    client = Client(id="cl_bounds", email="owner@acme.com", stated_profile={})
    with pytest.raises(ClientError, match=message):
        update_stated_profile(client, changes)
    assert client.stated_profile == {}


def test_values_within_limits_pass() -> None:
    check_stated(
        {
            "industry": "i" * MAX_PROFILE_TEXT_CHARS,
            "country": "DE",
            "company_size": 40,
            "icp_industries": ["Retail"] * MAX_ICP_INDUSTRIES,
            "icp_company_sizes": "50-200",
        }
    )


def test_icp_industries_are_stored_as_distinct_verticals() -> None:
    client = Client(id="cl_bounds", email="owner@acme.com", stated_profile={})
    entries = [
        "Retail",
        " retail ",
        "E-commerce",
        "healthcare",
        "Hospital & Health Care",
    ]
    update_stated_profile(client, {"icp_industries": entries * 10})
    assert client.stated_profile["icp_industries"] == ["ecommerce_retail", "healthcare"]
    assert profile_of(client).icp_industries == {"ecommerce_retail", "healthcare"}


def test_long_lead_industries_match_without_filling_the_taxonomy_cache() -> None:
    icp = ClientProfile(icp_industries=frozenset({"ecommerce_retail"})).to_icp()
    short, long = "Retail", "Retail " + "x" * 1_000
    assert icp.industry_value(short) == 1.0
    before = vertical_of.cache_info().currsize
    for index in range(50):
        assert icp.industry_value(f"{long}{index}") == 1.0  # still read in full
    assert vertical_of.cache_info().currsize == before
