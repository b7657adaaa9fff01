"""The HubSpot adapter under failures and load, over real HTTP against the
emulation: outages and 429s retried until they pass, errors that retrying cannot
fix sent once, the portal's budget keeping bursts under HubSpot's limits, and
every attempt's outcome recorded.

Most tests run the emulation, our limiter and our retries on one manual clock
(`clocked_*` fixtures), so ten-second windows and backoff pass without sleeping;
the burst and the timeout tests run on real time."""

import threading
from dataclasses import dataclass, replace

import pytest
from hubspot.crm.contacts import PublicObjectSearchRequest

from app.crm.base import CrmUnavailable, RateLimited, RecordRef, Rejected, ScopeMissing
from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.config import OPTIONAL_SCOPES, RATES, REQUIRED_SCOPES
from app.crm.hubspot.sdk import AccountApis
from app.crm.ratelimit import RateLimiter
from app.crm.retry import FAILED, OK, RATE_LIMITED, CallTally, RetryPolicy
from tests.crm.helpers import HUB_ID, KeptTokens, tokens_from
from tests.crm.test_hubspot_contacts import score

READS = "POST /crm/v3/objects/contacts/batch/read"
LIST = "GET /crm/v3/objects/contacts"
UPDATES = "POST /crm/v3/objects/contacts/batch/update"


@dataclass
class Paced:
    """An adapter on the manual clock, with its tally and the portal's budget."""

    account: HubSpotAccount
    tally: CallTally
    limiter: RateLimiter


def installed(sandbox, config, scopes=REQUIRED_SCOPES) -> KeptTokens:
    minted = sandbox.mint_tokens(
        HUB_ID, scopes=list(scopes), optional_scopes=list(OPTIONAL_SCOPES)
    )
    return KeptTokens(config, tokens_from(minted))


@pytest.fixture
def paced(clocked_hubspot, clocked_config, clocked_limiter):
    tally = CallTally()
    account = HubSpotAccount(
        clocked_config,
        installed(clocked_hubspot, clocked_config),
        clocked_limiter.for_account(str(HUB_ID)),
        tally,
    )
    yield Paced(account, tally, clocked_limiter)
    account.close()


def one_contact(sandbox) -> list[RecordRef]:
    return [RecordRef("contacts", sandbox.act.create_contact(HUB_ID, firstname="A"))]


def test_with_a_fifth_of_calls_failing_every_call_succeeds_in_the_end(
    clocked_hubspot, paced
):
    refs = one_contact(clocked_hubspot)
    clocked_hubspot.faults(HUB_ID, error_rate=0.2)

    results = [paced.account.read_contacts(refs) for _ in range(200)]

    assert all(len(found) == 1 for found in results)
    counts = paced.tally.counts()
    assert counts[OK] == 200 and counts[RATE_LIMITED] == 0
    assert 0.72 <= paced.tally.success_rate() <= 0.88
    # Every attempt reached HubSpot and was recorded: the tally is HubSpot's log.
    assert clocked_hubspot.calls(HUB_ID)[READS] == paced.tally.total


def test_a_429_is_waited_out_for_the_window_and_the_call_retried(
    clocked_hubspot, paced, clock
):
    refs = one_contact(clocked_hubspot)
    clocked_hubspot.faults(HUB_ID, force_429=1)
    started = clock.now()

    [contact] = paced.account.read_contacts(refs)

    assert contact.lead["first_name"] == "A"
    # HubSpot's 429 names the ten-second rolling window and no Retry-After.
    assert 10.0 <= clock.now() - started <= 11.0
    assert clocked_hubspot.calls(HUB_ID)[READS] == 2
    assert paced.tally.counts() == {OK: 1, FAILED: 0, RATE_LIMITED: 1}


def test_429s_that_outlast_the_budget_raise_rate_limited(clocked_hubspot, paced):
    refs = one_contact(clocked_hubspot)
    clocked_hubspot.faults(HUB_ID, force_429=10)
    with pytest.raises(RateLimited) as limited:
        paced.account.read_contacts(refs)
    assert limited.value.retryable and limited.value.retry_after == 10.0
    # Two windows waited out within the 30 s budget; a third would pass it.
    assert clocked_hubspot.calls(HUB_ID)[READS] == 3
    assert paced.tally.counts()[RATE_LIMITED] == 3


def test_an_outage_is_retried_then_raised(clocked_hubspot, paced):
    clocked_hubspot.faults(HUB_ID, error_rate=1.0)
    with pytest.raises(CrmUnavailable) as down:
        paced.account.list_contacts("contacts", None)
    assert down.value.retryable
    assert clocked_hubspot.calls(HUB_ID)[LIST] == 5
    assert paced.tally.counts() == {OK: 0, FAILED: 5, RATE_LIMITED: 0}


def test_a_refused_request_is_sent_once(clocked_hubspot, paced):
    with pytest.raises(Rejected):
        paced.account.list_contacts("contacts", "not-a-cursor")
    assert clocked_hubspot.calls(HUB_ID)[LIST] == 1
    assert paced.tally.counts()[FAILED] == 1


def test_a_missing_scope_is_asked_once(clocked_hubspot, clocked_config, clock):
    without_deals = [s for s in REQUIRED_SCOPES if s != "crm.objects.deals.read"]
    tally = CallTally()
    account = HubSpotAccount(
        clocked_config,
        installed(clocked_hubspot, clocked_config, without_deals),
        on_call=tally,
    )
    deal = clocked_hubspot.act.create_deal(HUB_ID, dealstage="closedwon")
    try:
        with pytest.raises(ScopeMissing):
            account.read_deal(deal)
    finally:
        account.close()
    assert clocked_hubspot.calls(HUB_ID)["GET /crm/v3/objects/deals/<object_id>"] == 1
    assert tally.total == 1


def test_writes_are_retried_too(clocked_hubspot, paced):
    record = clocked_hubspot.act.create_contact(HUB_ID, firstname="W")
    paced.account.ensure_fields()
    clocked_hubspot.faults(HUB_ID, force_429=1)

    assert paced.account.write_scores([score(record, 64, "Warm Lead")]) == []

    stored = clocked_hubspot.get_object(HUB_ID, "contacts", record)["properties"]
    assert stored["conturs_score"] == "64"
    assert clocked_hubspot.calls(HUB_ID)[UPDATES] == 2


def test_a_timed_out_call_is_retried(hubspot, config):
    quick = replace(config, timeout_seconds=0.3)
    tally = CallTally()
    account = HubSpotAccount(quick, installed(hubspot, quick), on_call=tally)
    refs = one_contact(hubspot)
    hubspot.faults(HUB_ID, timeouts=1, timeout_seconds=2)
    try:
        [contact] = account.read_contacts(refs)
    finally:
        account.close()
    assert contact.lead["first_name"] == "A"
    assert hubspot.calls(HUB_ID)[READS] == 2
    assert tally.counts() == {OK: 1, FAILED: 1, RATE_LIMITED: 0}


def test_a_burst_from_many_threads_stays_under_hubspots_limit(hubspot, config):
    limiter = RateLimiter(RATES)
    tally = CallTally()
    account = HubSpotAccount(
        config, installed(hubspot, config), limiter.for_account(str(HUB_ID)), tally
    )
    refs = one_contact(hubspot)
    done: list[int] = []

    def reader() -> None:
        for _ in range(50):
            done.append(len(account.read_contacts(refs)))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        account.close()
    assert done == [1] * 150
    assert tally.counts()[RATE_LIMITED] <= 5
    assert hubspot.calls(HUB_ID)[READS] == tally.total


def test_searches_take_from_the_search_budget(hubspot, config):
    limiter = RateLimiter(RATES)
    tally = CallTally()
    apis = AccountApis(
        installed(hubspot, config),
        config.api_base_url,
        config.timeout_seconds,
        pacer=limiter.for_account(str(HUB_ID)),
        retry=RetryPolicy(attempts=1),
        on_call=tally,
    )
    query = PublicObjectSearchRequest(filter_groups=[], properties=["email"], limit=1)
    try:
        for _ in range(10):
            apis.call(
                "contacts_search", "do_search", public_object_search_request=query
            )
    finally:
        apis.close()
    # HubSpot allows 5 per second; our bucket spaces them, and only them.
    assert tally.counts() == {OK: 10, FAILED: 0, RATE_LIMITED: 0}
    assert limiter.try_acquire(str(HUB_ID), "api") == 0.0


def test_adapters_without_a_limiter_share_a_budget_per_tokens_object(
    clocked_hubspot, clocked_config
):
    no_waiting = replace(
        clocked_config, call_retry=replace(clocked_config.call_retry, budget_seconds=0)
    )
    kept = installed(clocked_hubspot, no_waiting)
    refs = one_contact(clocked_hubspot)
    first, second = HubSpotAccount(no_waiting, kept), HubSpotAccount(no_waiting, kept)
    other = HubSpotAccount(no_waiting, installed(clocked_hubspot, no_waiting))
    try:
        for _ in range(100):
            first.read_contacts(refs)
        with pytest.raises(RateLimited):
            second.read_contacts(refs)
        assert other.read_contacts(refs)
    finally:
        for account in (first, second, other):
            account.close()
    assert clocked_hubspot.calls(HUB_ID)[READS] == 101
