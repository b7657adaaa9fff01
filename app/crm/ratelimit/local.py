"""The in-process call logs: one pyrate-limiter InMemoryBucket (a sliding-window
log) per account and bucket, on the limiter's clock, for at most `max_accounts`
accounts (least recently used dropped first); a pause per bucket beside them."""

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pyrate_limiter import InMemoryBucket, RateItem
from pyrate_limiter import Rate as PyrateRate

from app.crm.ratelimit.rate import Rate


@dataclass(slots=True)
class AccountLogs:
    """One account's logs by bucket, and when each bucket's pause ends (ms)."""

    buckets: dict[str, InMemoryBucket] = field(default_factory=dict)
    paused_until_ms: dict[str, int] = field(default_factory=dict)


class LocalLogs:
    """The in-process logs: pyrate-limiter buckets per account, LRU-bounded."""

    def __init__(
        self, rates: Mapping[str, Rate], max_accounts: int, clock: Callable[[], float]
    ) -> None:
        if max_accounts < 1:
            raise ValueError("max_accounts must be at least 1")
        self._rates = {
            name: PyrateRate(rate.calls, rate.window_ms) for name, rate in rates.items()
        }
        self._max_accounts = max_accounts
        self._clock = clock
        self._accounts: OrderedDict[str, AccountLogs] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, account: str, bucket: str) -> float:
        """Count one call if there is room: 0.0, else the seconds until room."""
        now = self._now_ms()
        logs, log_of_bucket = self._logs(account, bucket)
        paused_ms = logs.paused_until_ms.get(bucket, 0) - now
        if paused_ms > 0:
            return paused_ms / 1000
        log_of_bucket.leak(now)  # keep one window of entries, no more
        decision = log_of_bucket.put_decision(RateItem(bucket, now))
        if decision.allowed:
            return 0.0
        return max(decision.retry_after_ms or 1, 1) / 1000

    def record(self, account: str, bucket: str) -> None:
        """Count a call allowed elsewhere (through Redis)."""
        now = self._now_ms()
        _, log_of_bucket = self._logs(account, bucket)
        log_of_bucket.leak(now)
        log_of_bucket.put(RateItem(bucket, now))

    def pause(self, account: str, bucket: str, seconds: float) -> None:
        """No call in this bucket for `seconds` (a longer pause stands)."""
        until = self._now_ms() + round(seconds * 1000)
        logs, _ = self._logs(account, bucket)
        with self._lock:
            logs.paused_until_ms[bucket] = max(
                logs.paused_until_ms.get(bucket, 0), until
            )

    def _now_ms(self) -> int:
        return math.floor(self._clock() * 1000)

    def _logs(self, account: str, bucket: str) -> tuple[AccountLogs, InMemoryBucket]:
        with self._lock:
            logs = self._accounts.get(account)
            if logs is None:
                logs = self._accounts[account] = AccountLogs()
                while len(self._accounts) > self._max_accounts:
                    self._accounts.popitem(last=False)
            else:
                self._accounts.move_to_end(account)
            found = logs.buckets.get(bucket)
            if found is None:
                found = logs.buckets[bucket] = InMemoryBucket([self._rates[bucket]])
            return logs, found
