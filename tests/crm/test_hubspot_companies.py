"""Industry and company size from a contact's primary company, over real HTTP
against the emulation: filled only where the contact lacks them, read 100
companies per call through the per-portal cache, listed whole for a backfill
when that is cheaper, and never read without the optional scope."""

from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from urllib.parse import urlparse

import pytest

from app.container import services_of
from app.crm.base import CrmContact, RecordRef, StoredScore
from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.companies import (
    CompanyCache,
    CompanyCaches,
    PrimaryCompanies,
)
from app.crm.hubspot.config import RATES, REQUIRED_SCOPES
from app.crm.hubspot.sdk import AccountApis
from app.crm.ratelimit import RateLimiter
from tests.conftest import close_app
from tests.crm.helpers import HUB_ID, KeptTokens, tokens_from
from tests.crm_app.conftest import app_on, started_sandbox

BATCH_READ = "POST /crm/v3/objects/companies/batch/read"
LIST = "GET /crm/v3/objects/companies"


def company_calls(hubspot) -> dict[str, int]:
    return {k: n for k, n in hubspot.calls(HUB_ID).items() if "companies" in k}


@contextmanager
def adapter(config, kept, cache=None, read_companies=True) -> Iterator[HubSpotAccount]:
    with closing(
        HubSpotAccount(config, kept, companies=cache, read_companies=read_companies)
    ) as crm:
        yield crm


def refs(*ids: str) -> list[RecordRef]:
    return [RecordRef("contacts", i) for i in ids]


@pytest.fixture
def firm(hubspot) -> str:
    return hubspot.act.create_company(
        HUB_ID, name="Acme", industry="COMPUTER_SOFTWARE", numberofemployees="250"
    )


def test_a_contact_without_industry_or_size_gets_its_primary_companys(
    hubspot, config, kept, firm
):
    contact = hubspot.act.create_contact(HUB_ID, email="olena@acme.example")
    hubspot.act.associate_company(HUB_ID, contact, firm)
    with adapter(config, kept) as crm:
        [read] = crm.read_contacts(refs(contact))

    # Ids beyond 32 bits, as HubSpot's are.
    assert int(firm) > 2**31 and read.company_id == firm
    assert read.lead["industry"] == "COMPUTER_SOFTWARE"
    assert read.lead["employee_count"] == "250"
    assert company_calls(hubspot) == {BATCH_READ: 1}


def test_a_contact_keeps_its_own_industry_and_size(hubspot, config, kept, firm):
    own = hubspot.act.create_contact(
        HUB_ID, email="a@acme.example", industry="Banking", numemployees="25-50"
    )
    sized = hubspot.act.create_contact(
        HUB_ID, email="b@acme.example", numemployees="1-5"
    )
    for contact in (own, sized):
        hubspot.act.associate_company(HUB_ID, contact, firm)
    with adapter(config, kept) as crm:
        first, second = crm.read_contacts(refs(own, sized))

    assert (first.lead["industry"], first.lead["employee_count"]) == (
        "Banking",
        "25-50",
    )
    # Only the missing field comes from the company.
    assert (second.lead["industry"], second.lead["employee_count"]) == (
        "COMPUTER_SOFTWARE",
        "1-5",
    )
    assert company_calls(hubspot) == {BATCH_READ: 1}


def test_the_cache_spares_the_second_read_across_adapters(hubspot, config, kept, firm):
    contact = hubspot.act.create_contact(HUB_ID, email="olena@acme.example")
    hubspot.act.associate_company(HUB_ID, contact, firm)
    cache = CompanyCache()
    with adapter(config, kept, cache) as crm:
        crm.read_contacts(refs(contact))
    with adapter(config, kept, cache) as crm:
        [again] = crm.read_contacts(refs(contact))
        page = crm.list_contacts("contacts", None)

    assert again.lead["industry"] == "COMPUTER_SOFTWARE"
    assert page.contacts[0].lead["industry"] == "COMPUTER_SOFTWARE"
    assert company_calls(hubspot) == {BATCH_READ: 1}


def test_many_contacts_read_their_companies_a_hundred_at_a_time(hubspot, config, kept):
    hubspot.seed(HUB_ID, contacts=250, deals=0, companies=240)
    ids = [c.ref.record_id for c in _all_contacts(config, kept)]
    with adapter(config, kept) as crm:
        read = crm.read_contacts(refs(*ids))

    wanting = {c.company_id for c in read if c.company_id}
    batches = company_calls(hubspot).get(BATCH_READ, 0)
    # One batch per hundred contacts at most, each of at most 100 companies.
    assert 1 <= batches <= 3 and len(wanting) > 100
    assert sum("industry" in c.lead for c in read) > 150


def test_a_backfill_lists_few_companies_once_instead_of_a_read_per_page(
    hubspot, config, kept
):
    hubspot.seed(HUB_ID, contacts=600, deals=0, companies=120)
    cache = CompanyCache()
    with adapter(config, kept, cache) as crm:
        pages, cursor = 0, None
        while True:
            page = crm.list_contacts("contacts", cursor)
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break

    calls = company_calls(hubspot)
    # Two pages of companies (and the two totals that chose to list them)
    # instead of a batch read for each of the six pages of contacts.
    assert pages == 6 and calls.get(LIST) == 2
    assert calls.get(BATCH_READ, 0) == 0 and len(cache) == 120


def test_a_portal_with_many_companies_is_not_listed(hubspot, config, kept):
    hubspot.seed(HUB_ID, contacts=150, deals=0, companies=400)
    with adapter(config, kept) as crm:
        page = crm.list_contacts("contacts", None)
        crm.list_contacts("contacts", page.next_cursor)

    calls = company_calls(hubspot)
    assert LIST not in calls and calls[BATCH_READ] == 2


def test_without_the_scope_no_company_is_read(hubspot, config):
    hubspot.create_account(HUB_ID)
    hubspot.knobs(HUB_ID, unavailable_scopes=["crm.objects.companies.read"])
    firm = hubspot.act.create_company(HUB_ID, name="Acme", industry="RETAIL")
    minted = hubspot.mint_tokens(
        HUB_ID,
        scopes=list(REQUIRED_SCOPES),
        optional_scopes=["crm.objects.companies.read"],
    )
    assert "crm.objects.companies.read" not in minted["scopes"]
    kept = KeptTokens(config, tokens_from(minted))
    contact = hubspot.act.create_contact(HUB_ID, email="olena@acme.example")
    hubspot.act.associate_company(HUB_ID, contact, firm)

    with adapter(config, kept, read_companies=False) as crm:
        [alone] = crm.read_contacts(refs(contact))
    assert "industry" not in alone.lead and company_calls(hubspot) == {}

    # Told it may, the adapter meets HubSpot's 403 once, scores the contact
    # from its own values, and asks no more.
    with adapter(config, kept, read_companies=True) as crm:
        [first] = crm.read_contacts(refs(contact))
        [second] = crm.read_contacts(refs(contact))
    assert first == second == alone
    assert company_calls(hubspot) == {BATCH_READ: 1}


@pytest.mark.parametrize("granted", [True, False])
def test_the_services_read_companies_where_the_portal_granted_it(
    database_url, tmp_path, granted
):
    sandbox = started_sandbox()
    app = app_on(database_url, tmp_path / "instance", sandbox, JOBS_IMMEDIATE=False)
    try:
        sandbox.create_account(HUB_ID)
        if not granted:
            sandbox.knobs(HUB_ID, unavailable_scopes=["crm.objects.companies.read"])
        firm = sandbox.act.create_company(HUB_ID, name="Acme", industry="RETAIL")
        contact = sandbox.act.create_contact(HUB_ID, email="olena@acme.example")
        sandbox.act.associate_company(HUB_ID, contact, firm)
        web = app.test_client()
        authorize = web.get("/hubspot/install").headers["Location"]
        back = urlparse(sandbox.approve(authorize, HUB_ID, "ops@acme.example"))
        assert web.get(f"{back.path}?{back.query}").status_code == 302
        services = services_of(app)
        account_pk = services.hubspot.account_pk(str(HUB_ID))
        # Two adapters, as two tasks get: the portal's cache outlives each.
        for _ in range(2):
            with closing(services.hubspot.client(account_pk)) as crm:
                [read] = crm.read_contacts(refs(contact))
            assert read.lead.get("industry") == ("RETAIL" if granted else None)
        assert company_calls(sandbox) == ({BATCH_READ: 1} if granted else {})
    finally:
        close_app(app)
        sandbox.stop()


def test_a_missing_company_is_skipped_and_remembered(hubspot, config, kept, firm):
    apis = AccountApis(
        kept,
        config.api_base_url,
        5.0,
        pacer=RateLimiter(RATES).for_account("companies-test"),
        retry=config.call_retry,
    )
    gone = str(int(firm) + 7)  # ids grow with gaps: no company has this one
    companies = PrimaryCompanies(apis, CompanyCache(), enabled=True)
    try:
        first = companies.fill([_contact("1", gone), _contact("2", firm)])
        again = companies.fill([_contact("1", gone)])
    finally:
        apis.close()

    assert first[0].lead == again[0].lead == {"email": "x@y.example"}
    assert first[1].lead["industry"] == "COMPUTER_SOFTWARE"
    assert company_calls(hubspot) == {BATCH_READ: 1}


def test_the_cache_is_bounded_and_forgets_after_its_lifetime():
    now = [0.0]
    cache = CompanyCache(max_entries=2, ttl_seconds=60, clock=lambda: now[0])
    cache.store("1", (("industry", "RETAIL"),))
    cache.store("2", None)
    assert cache.lookup(["1"]) == ({"1": (("industry", "RETAIL"),)}, [])
    cache.store("3", ())  # "2" was used least recently: it goes
    assert cache.lookup(["1", "2", "3"]) == (
        {"1": (("industry", "RETAIL"),), "3": ()},
        ["2"],
    )
    now[0] = 61.0
    assert cache.lookup(["1", "3"]) == ({}, ["1", "3"]) and len(cache) == 0
    assert cache.claim_listing() and not cache.claim_listing()
    now[0] = 200.0
    assert cache.claim_listing()


def test_each_portal_has_its_own_cache_and_few_are_kept():
    caches = CompanyCaches(max_accounts=2)
    first = caches.of(1)
    first.store("7", (("industry", "RETAIL"),))
    assert caches.of(1) is first and caches.of(2).lookup(["7"]) == ({}, ["7"])
    caches.of(3)
    assert caches.of(1) is not first


def _contact(record_id: str, company_id: str) -> CrmContact:
    return CrmContact(
        ref=RecordRef("contacts", record_id),
        lead={"email": "x@y.example"},
        stored=StoredScore(None, None, None, None, None, None),
        company_id=company_id,
        updated_at=datetime.now(UTC),
    )


def _all_contacts(config, kept) -> list[CrmContact]:
    found, cursor = [], None
    with closing(HubSpotAccount(config, kept)) as crm:
        while True:
            page = crm.list_contacts("contacts", cursor)
            found += page.contacts
            cursor = page.next_cursor
            if cursor is None:
                return found
