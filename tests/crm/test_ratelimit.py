"""The per-account call budgets: never more calls than the rate in any window,
buckets and accounts apart, bounded waits and memory, one budget shared through
Redis, and a Redis that is down or hung costing nothing but the sharing."""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis

from app.crm.base import RateLimited
from app.crm.ratelimit import Rate, RateLimiter
from app.sandbox.clock import ManualClock

HUBSPOT_LIKE = {"api": Rate(100, 10.0), "search": Rate(5, 1.0)}
REDIS_URL = os.environ.get("TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs TEST_REDIS_URL")


def most_in_any_window(moments: list[float], seconds: float) -> int:
    """The largest number of moments within any `seconds`-long span."""
    moments = sorted(moments)
    most, first = 0, 0
    for last, moment in enumerate(moments):
        while moments[first] <= moment - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def on_clock(rates=HUBSPOT_LIKE, **options) -> tuple[RateLimiter, ManualClock]:
    clock = ManualClock(start=1_000.0)
    return RateLimiter(rates, clock=clock.now, sleep=clock.advance, **options), clock


def test_a_long_burst_never_exceeds_the_rate_and_uses_all_of_it():
    limiter, clock = on_clock()
    moments = []
    for _ in range(350):
        limiter.acquire("48213377", "api", max_wait=60)
        moments.append(clock.now())

    assert most_in_any_window(moments, 10.0) == 100
    # 100 at once, and 100 more each time a window has passed: calls 301-350
    # go 30 s (and a few ms) in, not later.
    assert 30.0 <= moments[-1] - moments[0] < 30.1


def test_buckets_and_accounts_have_budgets_of_their_own():
    limiter, _ = on_clock()
    for _ in range(5):
        assert limiter.try_acquire("1", "search") == 0.0
    assert 0.9 < limiter.try_acquire("1", "search") <= 1.001
    assert limiter.try_acquire("1", "api") == 0.0
    assert limiter.try_acquire("2", "search") == 0.0


def test_a_wait_longer_than_allowed_raises_and_takes_nothing():
    limiter, clock = on_clock()
    for _ in range(100):
        limiter.acquire("1", "api", max_wait=0)
    clock.advance(4.0)
    with pytest.raises(RateLimited) as limited:
        limiter.acquire("1", "api", max_wait=5.0)
    assert 6.0 <= limited.value.retry_after <= 6.01
    assert limited.value.retryable
    # Nothing was taken or waited for: once the window passed, 100 calls again.
    clock.advance(6.01)
    for _ in range(100):
        assert limiter.acquire("1", "api", max_wait=0) == 0.0
    assert limiter.try_acquire("1", "api") > 0


def test_a_pause_stops_the_bucket_for_everyone_until_it_ends():
    limiter, clock = on_clock()
    limiter.pause("1", "api", 10.0)
    assert limiter.try_acquire("1", "api") == pytest.approx(10.0)
    assert limiter.try_acquire("1", "search") == 0.0
    waited = limiter.acquire("1", "api", max_wait=15.0)
    assert waited == pytest.approx(10.0)


def test_memory_holds_the_least_recently_used_accounts_only():
    limiter, _ = on_clock(max_accounts=2)
    for _ in range(5):
        limiter.acquire("a", "search", max_wait=0)
    assert limiter.try_acquire("a", "search") > 0
    limiter.acquire("b", "search", max_wait=0)
    limiter.acquire("c", "search", max_wait=0)  # "a" is dropped
    assert limiter.try_acquire("a", "search") == 0.0


@pytest.mark.parametrize("account", ["", "x" * 201, "a b", "{1}", "tab\t"])
def test_account_keys_are_checked(account):
    limiter, _ = on_clock()
    with pytest.raises(ValueError):
        limiter.try_acquire(account, "api")


def test_unknown_buckets_and_bad_rates_are_refused():
    limiter, _ = on_clock()
    with pytest.raises(ValueError):
        limiter.try_acquire("1", "export")
    with pytest.raises(ValueError):
        Rate(0, 10.0)
    with pytest.raises(ValueError):
        RateLimiter(HUBSPOT_LIKE, redis_timeout=2.0)


def test_threads_of_one_process_share_the_budget():
    limiter = RateLimiter({"api": Rate(10, 1.0)})
    moments: list[float] = []
    lock = threading.Lock()

    def caller() -> None:
        for _ in range(10):
            limiter.acquire("1", "api", max_wait=10)
            with lock:
                moments.append(time.monotonic())

    threads = [threading.Thread(target=caller) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(moments) == 30
    # Moments are read just after each grant, maybe late on a busy machine:
    # a tenth of the window of slack.
    assert most_in_any_window(moments, 0.9) <= 10
    assert time.monotonic() - started >= 2.0  # 10 now, 10 at 1 s, 10 at 2 s


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of this test alone, cleaned up after it."""
    name = f"test:crm-rate:{uuid.uuid4().hex}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)
    client.close()


@needs_redis
def test_two_processes_sharing_redis_split_one_budget(prefix):
    rates = {"api": Rate(10, 1.0)}
    limiters = [
        RateLimiter(rates, redis_url=REDIS_URL, key_prefix=prefix) for _ in range(2)
    ]
    granted: dict[int, list[float]] = {0: [], 1: []}
    stop = time.monotonic() + 2.5

    def caller(n: int) -> None:
        while time.monotonic() < stop:
            limiters[n].acquire("48213377", "api", max_wait=10)
            granted[n].append(time.monotonic())

    threads = [threading.Thread(target=caller, args=(n % 2,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    both = granted[0] + granted[1]
    assert all(limiter.shared for limiter in limiters)
    assert granted[0] and granted[1]
    assert most_in_any_window(both, 0.9) <= 10
    # Together they used the one budget: 10 at once and 10 more each second.
    assert 30 <= len(both) <= 40
    for limiter in limiters:
        limiter.close()


@needs_redis
def test_a_pause_in_redis_holds_every_process_and_keys_expire(prefix):
    first = RateLimiter(HUBSPOT_LIKE, redis_url=REDIS_URL, key_prefix=prefix)
    second = RateLimiter(HUBSPOT_LIKE, redis_url=REDIS_URL, key_prefix=prefix)
    assert first.try_acquire("7", "api") == 0.0
    first.pause("7", "api", 2.0)
    second.pause("7", "api", 0.1)  # a shorter pause does not end the longer one
    assert 1.5 < second.try_acquire("7", "api") <= 2.0
    assert second.try_acquire("7", "search") == 0.0
    client = redis.Redis.from_url(REDIS_URL)
    ttls = {key: client.pttl(key) for key in client.scan_iter(f"{prefix}:*")}
    client.close()
    assert len(ttls) == 3  # two logs and one pause, each expiring
    assert all(0 < ttl <= 11_000 for ttl in ttls.values())
    first.close()
    second.close()


def test_unreachable_redis_falls_back_in_process_and_logs_once(caplog):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    limiter = RateLimiter(
        {"api": Rate(3, 10.0)}, redis_url=f"redis://127.0.0.1:{port}/0"
    )
    with caplog.at_level(logging.WARNING, logger="app.crm.ratelimit"):
        for _ in range(3):
            limiter.acquire("1", "api", max_wait=0)
        with pytest.raises(RateLimited):
            limiter.acquire("1", "api", max_wait=0)
    assert not limiter.shared
    assert len([r for r in caplog.records if "Redis failed" in r.message]) == 1


@pytest.fixture
def hung_redis() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback server that accepts connections and never answers."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0", accepted
    server.close()
    for connection in accepted:
        connection.close()


def test_a_hung_redis_is_given_up_on_and_not_asked_on_every_call(hung_redis):
    url, accepted = hung_redis
    limiter = RateLimiter({"api": Rate(50, 10.0)}, redis_url=url, redis_timeout=0.2)
    for _ in range(20):
        limiter.acquire("1", "api", max_wait=0)
    # One connection, one timed-out script call; later calls counted in process.
    assert len(accepted) == 1
    assert not limiter.shared
    limiter.close()
