"""Client profiles: enrichment from the email, stated attributes, the ICP."""

import pytest

from app.personalization.priors import PRIORS, RATIONALES, prior_for
from app.personalization.profile import (
    ClientProfile,
    country_of_domain,
    profile_from_email,
    with_stated,
)
from app.scoring import FACTOR_KEYS, factor_values


@pytest.mark.parametrize(
    ("email", "domain", "free", "country"),
    [
        ("anna@acme.de", "acme.de", False, "DE"),
        ("Anna@Acme.CO.UK", "acme.co.uk", False, "GB"),
        ("ivan@firma.com.ua", "firma.com.ua", False, "UA"),
        ("bob@startup.io", "startup.io", False, None),
        ("bob@startup.co", "startup.co", False, None),
        ("bob@labs.ai", "labs.ai", False, None),
        ("bob@show.tv", "show.tv", False, None),
        ("bob@acme.com", "acme.com", False, None),
        ("bob@europa.eu", "europa.eu", False, None),
        ("joe@gmail.com", "gmail.com", True, None),
        ("joe@web.de", "web.de", True, "DE"),
        ("joe@yahoo.co.uk", "yahoo.co.uk", True, "GB"),
    ],
)
def test_profile_from_email(email, domain, free, country):
    profile = profile_from_email(email)
    assert (profile.email_domain, profile.free_mail, profile.country) == (
        domain,
        free,
        country,
    )


@pytest.mark.parametrize("email", ["", "anna", "anna@", "@acme.com", "a@localhost"])
def test_profile_from_email_rejects_non_addresses(email):
    with pytest.raises(ValueError, match="email"):
        profile_from_email(email)


@pytest.mark.parametrize(
    ("domain", "country"), [("x.fr", "FR"), ("x.uk", "GB"), ("x.zz", None)]
)
def test_country_of_domain(domain, country):
    assert country_of_domain(domain) == country


def test_with_stated_normalises_everything():
    profile = with_stated(
        profile_from_email("anna@acme.de"),
        industry="COMPUTER_SOFTWARE",
        company_size="50-200",
        country="us",
        icp_industries=["Hospital & Health Care", "financial_services"],
        icp_company_sizes="1000+",
    )
    assert profile == ClientProfile(
        email_domain="acme.de",
        country="US",
        vertical="software_saas",
        industry_text="COMPUTER_SOFTWARE",
        company_size=(50, 200),
        icp_industries=frozenset({"healthcare", "financial_services"}),
        icp_size_range=(1000, None),
    )


def test_unknown_stated_industry_keeps_the_text_but_no_vertical():
    profile = with_stated(ClientProfile(), industry="Underwater basket weaving")
    assert profile.vertical is None
    assert profile.industry_text == "Underwater basket weaving"


def test_omitted_fields_are_kept_and_none_clears():
    start = with_stated(ClientProfile(), industry="legal", company_size=12)
    kept = with_stated(start, country="DE")
    assert (kept.vertical, kept.company_size, kept.country) == ("legal", (12, 12), "DE")
    cleared = with_stated(kept, industry=None, company_size=None, country=None)
    assert (cleared.vertical, cleared.company_size, cleared.country) == (None,) * 3


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("country", "Germany", "ISO 3166-1"),
        ("country", 49, "country must be a string"),
        ("company_size", "lots", "50-200"),
        ("company_size", -3, "negative"),
        ("company_size", True, "number or a range"),
        ("company_size", "200-50", "50-200"),
        ("icp_industries", ["Underwater basket weaving"], "matches none"),
        ("icp_industries", "software", "list"),
        ("icp_company_sizes", "big", "icp_company_sizes"),
        ("industry", 7, "industry must be a string"),
    ],
)
def test_with_stated_rejects_bad_input(field, value, message):
    with pytest.raises(ValueError, match=message):
        with_stated(ClientProfile(), **{field: value})


def test_to_icp_matches_lead_industries_through_the_taxonomy():
    profile = with_stated(
        ClientProfile(), icp_industries=["healthcare"], icp_company_sizes="50-200"
    )
    icp = profile.to_icp()
    industry = FACTOR_KEYS.index("industry_match")
    size = FACTOR_KEYS.index("company_size_bucket")
    medical = factor_values(
        {"industry": "Medical Practice", "employee_count": 120}, 0, icp
    )
    retail = factor_values({"industry": "Retail", "employee_count": 5000}, 0, icp)
    assert (medical[industry], medical[size]) == (1.0, 1.0)
    assert retail[industry] == 0.0 and retail[size] < 1.0


def test_every_vertical_has_a_valid_prior_with_a_rationale():
    for vertical, weights in PRIORS.items():
        assert len(weights) == len(FACTOR_KEYS)
        assert all(w > 0 for w in weights)
        assert sum(weights) == pytest.approx(1.0)
        assert 20 < len(RATIONALES[vertical]) < 200
    assert prior_for(None) is None
    assert prior_for("not_a_vertical") is None
    assert prior_for("legal") == PRIORS["legal"]
