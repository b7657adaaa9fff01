"""The /leads fast path's counters: fixed windows on an injected clock, Retry-After to
the window's end, and memory that stays bounded under a flood of unique callers."""

import tracemalloc

import pytest

from app.web.client_address import ClientAddresses
from app.web.ratelimit import (
    MAX_TRACKED,
    FailureCounter,
    LeadsRateLimits,
    RateLimited,
    RequestCounter,
    leads_rate_limits,
)


class Clock:
    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_caller_over_its_failures_waits_until_the_window_ends() -> None:
    clock = Clock(1_000.0)  # windows of 60 s: [960, 1020)
    counter = FailureCounter(3, 60, clock=clock)
    for _ in range(3):
        assert counter.wait("a") == 0
        counter.add("a")
    assert counter.over == {"a"}
    assert counter.wait("a") == 20
    assert counter.wait("b") == 0
    clock.now = 1_019.2
    assert counter.wait("a") == 1
    clock.now = 1_020.0
    assert counter.wait("a") == 0
    assert counter.over == set() and len(counter) == 0


def refused(counter: RequestCounter, key: str) -> int:
    """The Retry-After of a refused request, 0 when it passes."""
    try:
        counter.hit(key)
    except RateLimited as limited:
        return limited.retry_after
    return 0


def test_requests_pass_up_to_the_limit_within_a_keys_window() -> None:
    clock = Clock(100.0)
    counter = RequestCounter(3, 10, clock=clock)
    assert [refused(counter, "k") for _ in range(3)] == [0, 0, 0]
    clock.now = 103.5
    assert [refused(counter, "k") for _ in range(3)] == [7, 7, 7]
    assert refused(counter, "other") == 0
    # The window began with the first request; refused requests do not count.
    clock.now = 110.0
    assert [refused(counter, "k") for _ in range(4)] == [0, 0, 0, 10]


def test_request_counts_never_exceed_twice_the_limit_in_any_period() -> None:
    clock = Clock(0.0)
    counter = RequestCounter(100, 1.0, clock=clock)
    passed = []
    for step in range(5_000):  # 1,000 requests a second for five seconds
        clock.now = step / 1_000
        if not refused(counter, "k"):
            passed.append(clock.now)
    for start in passed:
        in_period = [t for t in passed if start <= t < start + 1.0]
        assert len(in_period) <= 200
    assert 400 <= len(passed) <= 600


def test_the_request_table_is_emptied_when_full() -> None:
    counter = RequestCounter(5, 1, max_keys=100, clock=Clock())
    for n in range(1_000):
        counter.hit(f"cl_{n}")
        assert len(counter) <= 101


def test_memory_stays_bounded_under_100000_unique_addresses() -> None:
    clock = Clock()
    limits = leads_rate_limits(
        {
            "RATE_LIMITS_ENABLED": True,
            "AUTH_FAILURE_RATE_LIMIT": "20/minute",
            "LEADS_RATE_LIMIT": "10000/second",
            "FORWARDED_ALLOW_IPS": "",
        },
        clock=clock,
    )
    assert limits is not None
    attacker = {"REMOTE_ADDR": "198.51.100.1"}
    for _ in range(20):
        limits.admit(attacker)
        limits.failed(attacker)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100_000):
            caller = {"REMOTE_ADDR": f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}"}
            limits.admit(caller)
            limits.failed(caller)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(limits._failures) == MAX_TRACKED
    assert grown < 10 * 1024 * 1024, grown
    # The callers counted before the flood stay limited.
    with pytest.raises(RateLimited):
        limits.admit(attacker)
    # A new window forgets every count.
    clock.now += 60
    limits.admit(attacker)
    assert len(limits._failures) == 0


def test_admit_and_spend_raise_with_retry_after() -> None:
    clock = Clock(0.5)
    limits = LeadsRateLimits(
        ClientAddresses(""),
        FailureCounter(1, 60, clock=clock),
        RequestCounter(2, 1, "Too many requests for this client", clock=clock),
        "1 per 1 minute",
    )
    caller = {"REMOTE_ADDR": "198.51.100.1"}
    limits.admit(caller)
    limits.failed(caller)
    with pytest.raises(RateLimited) as failed:
        limits.admit(caller)
    assert failed.value.retry_after == 60
    assert "1 per 1 minute" in failed.value.message
    limits.admit({"REMOTE_ADDR": "198.51.100.2"})
    limits.spend("cl_1")
    limits.spend("cl_1")
    with pytest.raises(RateLimited) as busy:
        limits.spend("cl_1")
    assert busy.value.retry_after == 1
    assert busy.value.message.startswith("Too many requests for this client")
    limits.spend("cl_2")


def test_disabled_limits_are_none() -> None:
    assert leads_rate_limits({"RATE_LIMITS_ENABLED": False}) is None
