"""Client-side call budgets per CRM account, so we stay under the CRM's own rate
limits instead of learning them from 429s.

A `RateLimiter` holds named buckets with rates the caller gives (HubSpot: "api"
100 calls / 10 s, "search" a few per second; Uspacy its own numbers), one set per
account. Each bucket is a sliding-window log: a call is allowed while fewer than
`calls` calls were allowed in the last `seconds`, which is how HubSpot counts its
rolling ten-second window, so a burst never exceeds the budget at any instant.
`acquire` waits for room up to a limit and raises RateLimited beyond it, so a
worker can requeue the job instead of sleeping for minutes. `pause` stops every
caller of one bucket for a while, for when the CRM answers 429 anyway.

Storage: in process by default; with a Redis URL the logs live in Redis and every
process and machine shares one budget per account. Why not pyrate-limiter's
RedisBucket for that part: it writes client timestamps (machines with skewed
clocks would disagree about the window), sets no expiry on its keys (an account
that stops calling leaves its log behind forever unless a leaker thread of the
same process comes back to it), loads its script once at construction (a Redis
restart leaves it failing with NOSCRIPT), and has no shared pause. The Lua
script in `shared.py` is the same sliding-window log on Redis's own clock, with
keys that expire one window after their last call, the pause checked in the same
round trip, and redis-py reloading the script when needed. In process (`local.py`),
pyrate-limiter's InMemoryBucket keeps the log and computes the wait, on our clock
(so tests can run it on a fake one).

Redis calls time out after `redis_timeout` seconds (0.5 at most) and are never
retried; when Redis fails the limiter falls back to the in-process logs (logged
once per outage) and asks Redis again `REDIS_RETRY_SECONDS` later, so a dead
Redis costs one timeout per interval, never a failed CRM call. Every call granted
through Redis is also written to the in-process log, so a fallback starts from
this process's own recent calls. Memory is bounded: the in-process logs of at
most `max_accounts` accounts, least recently used dropped first.
"""

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.crm.base import RateLimited
from app.crm.ratelimit.local import LocalLogs
from app.crm.ratelimit.rate import Rate
from app.crm.ratelimit.shared import REDIS_RETRY_SECONDS, RedisLogs

__all__ = [
    "REDIS_RETRY_SECONDS",
    "AccountLimit",
    "Rate",
    "RateLimiter",
]

REDIS_TIMEOUT_SECONDS = 0.5
DEFAULT_MAX_ACCOUNTS = 1_000
DEFAULT_KEY_PREFIX = "conturs:crm-rate"
MAX_ACCOUNT_CHARS = 200
MAX_PAUSE_SECONDS = 3_600.0


class RateLimiter:
    """Per-account budgets in named buckets, in process or shared through Redis.

    `clock` (seconds) and `sleep` drive the in-process logs and the waits; tests
    may pass a fake pair. Redis windows run on Redis's clock.
    """

    def __init__(
        self,
        rates: Mapping[str, Rate],
        *,
        redis_url: str | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        max_accounts: int = DEFAULT_MAX_ACCOUNTS,
        redis_timeout: float = REDIS_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rates:
            raise ValueError("at least one bucket rate is needed")
        if not 0 < redis_timeout <= REDIS_TIMEOUT_SECONDS:
            raise ValueError(f"redis_timeout must be at most {REDIS_TIMEOUT_SECONDS}")
        self.rates = dict(rates)
        self._clock = clock
        self._sleep = sleep
        self._local = LocalLogs(self.rates, max_accounts, clock)
        self._shared = (
            RedisLogs(redis_url, key_prefix, redis_timeout) if redis_url else None
        )

    @property
    def shared(self) -> bool:
        """Whether the budgets are counted in Redis right now."""
        return self._shared is not None and self._shared.healthy()

    def for_account(self, account: str) -> "AccountLimit":
        """This limiter bound to one account."""
        return AccountLimit(self, _checked_account(account))

    def try_acquire(self, account: str, bucket: str) -> float:
        """Take one call if there is room: 0.0 when taken, otherwise the seconds
        until there may be (nothing is taken then)."""
        account = _checked_account(account)
        rate = self._rate(bucket)
        if self._shared is not None:
            wait = self._shared.take(account, bucket, rate)
            if wait is not None:
                if wait == 0:
                    self._local.record(account, bucket)
                return wait
        return self._local.take(account, bucket)

    def acquire(self, account: str, bucket: str, max_wait: float) -> float:
        """Take one call, waiting for room; return the seconds waited. Raises
        RateLimited (with the wait left) when room is more than `max_wait` away."""
        started = self._clock()
        while True:
            wait = self.try_acquire(account, bucket)
            waited = self._clock() - started
            if wait <= 0:
                return waited
            if waited + wait > max_wait:
                raise RateLimited(
                    f"the {bucket} budget of account {account} is used up for "
                    f"{wait:.1f} s",
                    retry_after=wait,
                )
            self._sleep(wait)

    def pause(self, account: str, bucket: str, seconds: float) -> None:
        """Allow no call in this bucket of the account for `seconds` (at most an
        hour), e.g. after the CRM answered 429: every process waits it out."""
        account = _checked_account(account)
        self._rate(bucket)
        if not math.isfinite(seconds) or seconds <= 0:
            return
        seconds = min(seconds, MAX_PAUSE_SECONDS)
        self._local.pause(account, bucket, seconds)
        if self._shared is not None:
            self._shared.pause(account, bucket, seconds)

    def close(self) -> None:
        """Release the Redis connections."""
        if self._shared is not None:
            self._shared.close()

    def _rate(self, bucket: str) -> Rate:
        rate = self.rates.get(bucket)
        if rate is None:
            raise ValueError(f"no rate for bucket {bucket!r}")
        return rate


@dataclass(frozen=True, slots=True)
class AccountLimit:
    """A `RateLimiter` bound to one account: what a CRM adapter is given."""

    limiter: RateLimiter
    account: str

    def acquire(self, bucket: str, max_wait: float) -> float:
        """Take one call of `bucket`, waiting at most `max_wait` seconds."""
        return self.limiter.acquire(self.account, bucket, max_wait)

    def pause(self, bucket: str, seconds: float) -> None:
        """Stop every call of `bucket` for `seconds`."""
        self.limiter.pause(self.account, bucket, seconds)


def _checked_account(account: str) -> str:
    if (
        not isinstance(account, str)
        or not 0 < len(account) <= MAX_ACCOUNT_CHARS
        or not account.isprintable()
        or any(c in account for c in " {}")
    ):
        raise ValueError("an account key is 1–200 printable characters, no spaces")
    return account
