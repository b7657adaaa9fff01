"""How the Uspacy adapter meets failures, over HTTP with the emulation's fault
knobs: 5xx and hangs become a retryable CrmUnavailable (retried until they
pass), 429 a RateLimited with Retry-After (waited out), a refused token one
refresh, a token of another portal or a refused refresh AccessRevoked, and a
non-admin's webhook call ScopeMissing. Waits run on the emulation's manual
clock where they would take seconds."""

import time
from dataclasses import replace

import pytest

from app.crm.base import (
    AccessRevoked,
    CrmUnavailable,
    RateLimited,
    RecordRef,
    ScopeMissing,
)
from app.crm.ratelimit import Rate, RateLimiter
from app.crm.retry import FAILED, OK, RATE_LIMITED, CallTally
from app.crm.uspacy import tokens as uspacy_tokens
from app.crm.uspacy.config import RATES
from tests.crm.uspacy.helpers import (
    DOMAIN,
    OTHER_DOMAIN,
    PortalTokens,
    account_for,
    once,
)

ONE = (
    "GET /crm/v1/entities/<any(leads, contacts, deals, companies):kind>/<int:record_id>"
)


def a_contact(uspacy) -> list[RecordRef]:
    """One contact to read (a contact costs one call: no funnel to look up)."""
    return [RecordRef("contacts", str(uspacy.act_create(DOMAIN, "contacts")["id"]))]


def on_clock(config, clock):
    """`config` whose retries wait on the emulation's manual clock."""
    return replace(
        config,
        call_retry=replace(config.call_retry, sleep=clock.advance, clock=clock.now),
    )


def clocked_budget(clock, rates=RATES):
    return RateLimiter(rates, clock=clock.now, sleep=clock.advance).for_account(DOMAIN)


def test_server_errors_are_retried_then_raised_as_retryable(uspacy, config, kept):
    refs = a_contact(uspacy)
    tally = CallTally()
    account = account_for(config, kept, on_call=tally)
    uspacy.faults(DOMAIN, error_rate=1.0)

    with pytest.raises(CrmUnavailable) as failed:
        account.read_contacts(refs)

    assert failed.value.retryable is True
    attempts = config.call_retry.attempts
    assert tally.counts() == {OK: 0, FAILED: attempts, RATE_LIMITED: 0}
    assert uspacy.calls(DOMAIN)[ONE] == attempts


def test_with_a_third_of_calls_failing_every_read_succeeds(uspacy, config, kept):
    refs = a_contact(uspacy)
    tally = CallTally()
    account = account_for(config, kept, on_call=tally)
    uspacy.faults(DOMAIN, error_rate=0.3, seed=5)

    assert all(len(account.read_contacts(refs)) == 1 for _ in range(25))
    assert tally.counts()[OK] == 25 and tally.counts()[FAILED] > 0
    assert uspacy.calls(DOMAIN)[ONE] == tally.total


def test_a_429_is_raised_with_its_retry_after(uspacy, config, kept):
    refs = a_contact(uspacy)
    uspacy.faults(DOMAIN, throttle_rate=1.0, retry_after=7)

    with pytest.raises(RateLimited) as limited:
        account_for(once(config), kept).read_contacts(refs)

    assert limited.value.retry_after == 7 and limited.value.retryable


def test_a_429_is_waited_out_for_its_retry_after_and_retried(
    uspacy, config, kept, clock
):
    refs = a_contact(uspacy)
    account = account_for(on_clock(config, clock), kept, limiter=clocked_budget(clock))
    uspacy.knobs(DOMAIN, rate_limit=1)  # the next call gets 429, Retry-After: 1
    started = clock.now()

    assert len(account.read_contacts(refs)) == 1
    assert 1.0 <= clock.now() - started <= 1.2
    assert uspacy.calls(DOMAIN)[ONE] == 2


def test_the_budget_keeps_a_burst_under_uspacys_limit(uspacy, config, kept, clock):
    refs = a_contact(uspacy)
    tally = CallTally()
    account = account_for(
        on_clock(config, clock), kept, limiter=clocked_budget(clock), on_call=tally
    )
    started = clock.now()

    assert all(account.read_contacts(refs) for _ in range(70))

    # 60 calls a minute: the 70 needed a second window, and met no 429.
    assert tally.counts() == {OK: 70, FAILED: 0, RATE_LIMITED: 0}
    assert clock.now() - started >= 60


def test_without_our_budget_uspacys_own_429s_are_waited_out(
    uspacy, config, kept, clock
):
    refs = a_contact(uspacy)
    tally = CallTally()
    generous = clocked_budget(clock, {"api": Rate(1000, 60.0)})
    account = account_for(
        on_clock(config, clock), kept, limiter=generous, on_call=tally
    )

    assert all(account.read_contacts(refs) for _ in range(65))
    assert tally.counts()[OK] == 65 and tally.counts()[RATE_LIMITED] >= 1


def test_a_hanging_call_ends_at_our_timeout(uspacy, config, kept):
    refs = a_contact(uspacy)
    uspacy.faults(DOMAIN, hang_rate=1.0, hang_seconds=10.0)
    account = account_for(replace(once(config), timeout_seconds=0.3), kept)
    started = time.monotonic()

    with pytest.raises(CrmUnavailable) as failed:
        account.read_contacts(refs)

    assert time.monotonic() - started < 2
    assert "Timeout" in failed.value.message and failed.value.retryable


def test_an_expired_token_is_refreshed_once_and_the_call_retried(
    uspacy, account, kept, clock
):
    refs = a_contact(uspacy)
    stale = kept.current()
    clock.advance(86_400 + 1)  # a day: the access token expires, not the refresh

    [lead] = account.read_contacts(refs)

    assert lead.ref == refs[0]
    assert kept.refreshes == 1 and kept.current() != stale
    account.read_contacts(refs)
    assert kept.refreshes == 1


def test_a_token_of_another_portal_is_refused(uspacy, config, kept):
    uspacy.create_portal(OTHER_DOMAIN)
    uspacy.act_create(OTHER_DOMAIN, "leads")
    # Acme's tokens sent to Globex's host: refused, and so is the refresh.
    crossed = PortalTokens(config, OTHER_DOMAIN, kept.tokens)
    account = account_for(config, crossed)

    with pytest.raises(AccessRevoked):
        account.list_contacts("leads", None)

    # Acme's refresh token was not spent on Globex's host.
    fresh = uspacy_tokens.refresh(config, DOMAIN, kept.tokens.refresh_token)
    assert fresh.access_token != kept.tokens.access_token


def test_a_refused_refresh_means_the_portal_must_reinstall(
    uspacy, account, kept, clock
):
    refs = a_contact(uspacy)
    uspacy.knobs(DOMAIN, tariff_exceeded=True)
    clock.advance(86_400 + 1)

    with pytest.raises(AccessRevoked) as revoked:
        account.read_contacts(refs)

    assert "tariff" in revoked.value.message


def test_a_non_admin_cannot_register_webhooks(uspacy, account):
    uspacy.knobs(DOMAIN, non_admin=True)
    with pytest.raises(ScopeMissing):
        account.ensure_webhook("http://127.0.0.1:9/uspacy/v1/webhooks/key")


def test_an_unreachable_portal_is_unavailable(uspacy, kept):
    from tests.crm.uspacy.helpers import config_for

    config = replace(
        once(config_for(uspacy)), base_url_template="http://127.0.0.1:9/{domain}"
    )
    with pytest.raises(CrmUnavailable):
        account_for(config, kept).read_contacts(a_contact(uspacy))
