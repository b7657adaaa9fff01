"""The industry taxonomy: HubSpot values, labels, synonyms, free text, unknowns."""

import json
from importlib import resources

import pytest

from app.personalization.taxonomy import (
    HUBSPOT_INDUSTRIES,
    VERTICALS,
    normalise,
    vertical_of,
)


@pytest.mark.parametrize(
    ("text", "vertical"),
    [
        ("COMPUTER_SOFTWARE", "software_saas"),
        ("Computer Software", "software_saas"),
        ("computer software", "software_saas"),
        ("INFORMATION_TECHNOLOGY_AND_SERVICES", "software_saas"),
        ("Information Technology and Services", "software_saas"),
        ("IT", "software_saas"),
        ("IT consulting", "software_saas"),
        ("B2B SaaS platform", "software_saas"),
        ("Hospital & Health Care", "healthcare"),
        ("HOSPITAL_HEALTH_CARE", "healthcare"),
        ("Apparel & Fashion", "ecommerce_retail"),
        ("Arts and Crafts", "ecommerce_retail"),
        ("Restaurants", "hospitality_travel"),
        ("restaurant", "hospitality_travel"),
        ("Staffing and Recruiting", "recruiting_staffing"),
        ("recruitment agency", "recruiting_staffing"),
        ("Marketing agency", "marketing_advertising"),
        ("consulting agency", "consulting_professional_services"),
        ("New York real estate", "real_estate"),
        ("lawyers", "legal"),
        ("Fintech", "financial_services"),
        ("  Insurance  ", "insurance"),
        ("oil & gas", "energy_utilities"),
        ("telecom", "telecommunications"),
        ("software_saas", "software_saas"),
        ("Software & SaaS", "software_saas"),
    ],
)
def test_known_industries_map_to_their_vertical(text, vertical):
    assert vertical_of(text) == vertical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Underwater basket weaving",
        "other",
        "n/a",
        "it is what it is",  # "it" only counts as the whole answer
        "software for hospitals",  # two verticals, equally specific: no guess
    ],
)
def test_unknown_or_ambiguous_text_maps_to_no_vertical(text):
    assert vertical_of(text) is None


def test_news_is_media_not_a_stem_of_new():
    assert vertical_of("news") == "media_entertainment"
    assert vertical_of("new") is None


def test_about_twenty_verticals_cover_every_hubspot_value_exactly_once():
    raw = json.loads(
        resources.files("app.personalization")
        .joinpath("data/verticals.json")
        .read_text(encoding="utf-8")
    )["verticals"]
    listed = [value for entry in raw.values() for value in entry["hubspot"]]
    assert 18 <= len(VERTICALS) <= 24
    assert len(listed) == len(set(listed)) == len(HUBSPOT_INDUSTRIES) == 147
    for value, key in HUBSPOT_INDUSTRIES.items():
        assert vertical_of(value) == key
        assert vertical_of(value.replace("_", " ").title()) == key


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hospital & Health Care", ("hospital", "health", "care")),
        ("Services", ("service",)),
        ("class", ("class",)),
        ("E-Learning", ("e", "learning")),
    ],
)
def test_normalise(text, words):
    assert normalise(text) == words
