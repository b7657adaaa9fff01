"""The retry policy on a manual clock: what is retried and what never is, the
backoff, the attempt and time bounds, 429s waited out through the shared
budget, and every attempt's outcome reported."""

from collections.abc import Callable
from dataclasses import replace

import pytest

from app.crm.base import (
    AccessRevoked,
    AuthExpired,
    CrmError,
    CrmUnavailable,
    RateLimited,
    Rejected,
    ScopeMissing,
)
from app.crm.ratelimit import Rate, RateLimiter
from app.crm.retry import FAILED, OK, RATE_LIMITED, CallTally, RetryPolicy
from app.sandbox.clock import ManualClock


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(start=5_000.0)


@pytest.fixture
def policy(clock) -> RetryPolicy:
    return RetryPolicy(sleep=clock.advance, clock=clock.now, jitter=lambda: 0.5)


def failing(*errors: CrmError) -> tuple[Callable[[], str], list[int]]:
    """An attempt that raises `errors` in turn, then answers "done"."""
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "done"

    return attempt, calls


def test_outages_are_retried_with_growing_delays(policy, clock):
    attempt, calls = failing(CrmUnavailable("502"), CrmUnavailable("timeout"))
    tally = CallTally()
    started = clock.now()

    assert policy.run(attempt, on_call=tally) == "done"

    assert len(calls) == 3
    # 0.5 s, then 1 s, each drawn from its upper half (jitter 0.5 → 3/4 of it).
    assert clock.now() - started == pytest.approx(0.375 + 0.75)
    assert tally.counts() == {OK: 1, FAILED: 2, RATE_LIMITED: 0}
    assert tally.success_rate() == pytest.approx(1 / 3)


def test_backoff_doubles_up_to_its_ceiling_and_keeps_the_upper_half(policy):
    low, high = replace(policy, jitter=lambda: 0.0), replace(policy, jitter=lambda: 1.0)
    assert [low.backoff(n) for n in range(1, 7)] == [0.25, 0.5, 1, 2, 4, 4]
    assert [high.backoff(n) for n in range(1, 7)] == [0.5, 1, 2, 4, 8, 8]


@pytest.mark.parametrize(
    "error",
    [
        Rejected("400 VALIDATION_ERROR"),
        ScopeMissing("403", ["crm.objects.deals.read"]),
        AccessRevoked("gone"),
        AuthExpired("401"),
    ],
)
def test_errors_that_retrying_cannot_fix_are_raised_at_once(policy, clock, error):
    attempt, calls = failing(error)
    tally = CallTally()
    with pytest.raises(type(error)):
        policy.run(attempt, on_call=tally)
    assert len(calls) == 1
    assert tally.counts()[FAILED] == 1
    assert clock.now() == 5_000.0


def test_attempts_are_bounded(policy):
    attempt, calls = failing(*[CrmUnavailable("502")] * 10)
    with pytest.raises(CrmUnavailable):
        policy.run(attempt)
    assert len(calls) == policy.attempts == 5


def test_time_is_bounded_whatever_the_attempts(policy, clock):
    slow = replace(policy, attempts=20, budget_seconds=10.0)
    attempt, calls = failing(*[CrmUnavailable("502")] * 20)
    with pytest.raises(CrmUnavailable):
        slow.run(attempt)
    # 0.375 + 0.75 + 1.5 + 3 = 5.6 s; the next 6 s would pass the 10 s budget.
    assert len(calls) == 5
    assert clock.now() - 5_000.0 <= 10.0


def test_a_429_pauses_the_bucket_for_its_wait_then_retries(policy, clock):
    limiter = RateLimiter(
        {"api": Rate(100, 10.0)}, clock=clock.now, sleep=clock.advance
    )
    pacer = limiter.for_account("48213377")
    attempt, calls = failing(RateLimited("429", retry_after=10.0))
    tally = CallTally()

    assert policy.run(attempt, pacer=pacer, on_call=tally) == "done"

    assert len(calls) == 2
    # The wait plus 5 % jitter, spent in the limiter: other callers wait too.
    assert clock.now() - 5_000.0 == pytest.approx(10.5)
    assert tally.counts() == {OK: 1, FAILED: 0, RATE_LIMITED: 1}
    limiter.pause("48213377", "api", 3.0)
    assert limiter.try_acquire("48213377", "api") == pytest.approx(3.0)


def test_a_429_without_a_stated_wait_waits_the_policy_window(policy, clock):
    attempt, calls = failing(RateLimited("429"))
    assert policy.run(attempt) == "done"
    assert clock.now() - 5_000.0 == pytest.approx(10.5)


def test_a_429_longer_than_the_budget_is_raised_for_the_caller_to_requeue(policy):
    attempt, calls = failing(RateLimited("429 DAILY", retry_after=3600.0))
    with pytest.raises(RateLimited) as limited:
        policy.run(attempt)
    assert len(calls) == 1
    assert limited.value.retry_after == 3600.0


def test_a_used_up_budget_raises_before_calling(policy, clock):
    limiter = RateLimiter({"api": Rate(1, 60.0)}, clock=clock.now, sleep=clock.advance)
    pacer = limiter.for_account("1")
    attempt, calls = failing()
    assert policy.run(attempt, pacer=pacer) == "done"
    with pytest.raises(RateLimited):
        policy.run(attempt, pacer=pacer)
    assert len(calls) == 1


def test_tally_refuses_unknown_outcomes_and_starts_empty():
    tally = CallTally()
    assert tally.success_rate() is None
    with pytest.raises(ValueError):
        tally("maybe")
    tally(OK)
    assert tally.total == 1 and tally.success_rate() == 1.0


def test_policies_are_bounded():
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_delay=10.0, max_delay=1.0)
