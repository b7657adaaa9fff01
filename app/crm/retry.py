"""Retrying CRM calls, in one place for every adapter: rate limits (429) waited
out, outages (5xx, timeouts, refused connections) retried with exponential
backoff and jitter, each attempt paced by the account's budget and its outcome
reported, all within a bounded number of attempts and a total time budget.

Retried only when the error says so (`CrmError.retryable`: RateLimited and
CrmUnavailable). Methods are not looked at: the calls our adapters make, POSTs
included (batch read, batch update, property create), give the same result when
repeated, or a 409 that the adapter already reads as done. AuthExpired is not
retried here: the adapter refreshes the token once and runs the retried call
again; Rejected, ScopeMissing and AccessRevoked never change by retrying.

A 429 pauses the account's bucket (every caller and process sharing the limiter
waits, not only this one) for the CRM's Retry-After, or the wait the adapter
derived from the CRM's answer, plus up to 10 % jitter.
"""

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from app.crm.base import CrmError, RateLimited

T = TypeVar("T")

# What `on_call` hears after every attempt that reached the CRM (or tried to).
OK = "ok"
FAILED = "failed"
RATE_LIMITED = "rate_limited"
OUTCOMES = (OK, FAILED, RATE_LIMITED)
OnCall = Callable[[str], None]

MAX_ATTEMPTS = 20
MAX_BUDGET_SECONDS = 3_600.0
RATE_LIMIT_JITTER = 0.1


class Pacer(Protocol):
    """One account's call budget (`app.crm.ratelimit.AccountLimit`)."""

    def acquire(self, bucket: str, max_wait: float) -> float:
        """Take one call, waiting at most `max_wait`; RateLimited beyond."""
        ...

    def pause(self, bucket: str, seconds: float) -> None:
        """Stop every call of `bucket` for `seconds`."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry; `sleep`, `clock` and `jitter` (a number
    in [0, 1)) are injectable so tests can run on a fake clock."""

    attempts: int = 5
    budget_seconds: float = 30.0
    base_delay: float = 0.5
    max_delay: float = 8.0
    # A 429 that names no wait: HubSpot's window is ten seconds.
    rate_limit_wait: float = 10.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    jitter: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts must be 1–{MAX_ATTEMPTS}")
        if not 0 <= self.budget_seconds <= MAX_BUDGET_SECONDS:
            raise ValueError(f"budget_seconds must be 0–{MAX_BUDGET_SECONDS:g}")
        if not 0 <= self.base_delay <= self.max_delay <= MAX_BUDGET_SECONDS:
            raise ValueError("delays must satisfy 0 <= base_delay <= max_delay")

    def backoff(self, failures: int) -> float:
        """Seconds to wait after `failures` failed attempts in a row: doubling
        from `base_delay` up to `max_delay`, the upper half of it at random (so
        callers that failed together do not come back together)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(failures - 1, 0))
        return ceiling / 2 + ceiling / 2 * self.jitter()

    def rate_limit_pause(self, error: RateLimited) -> float:
        """Seconds to stop calling after a 429."""
        wait = self.rate_limit_wait if error.retry_after is None else error.retry_after
        return wait * (1 + RATE_LIMIT_JITTER * self.jitter())

    def run(
        self,
        attempt: Callable[[], T],
        *,
        pacer: Pacer | None = None,
        bucket: str = "api",
        on_call: OnCall | None = None,
    ) -> T:
        """`attempt()` until it succeeds, fails for good, or attempts or time run
        out (the last error is raised). Each attempt first takes a call from
        `pacer`'s `bucket`; when that would outlast the budget, RateLimited."""
        deadline = self.clock() + self.budget_seconds
        failures = 0
        while True:
            if pacer is not None:
                pacer.acquire(bucket, max(0.0, deadline - self.clock()))
            try:
                result = attempt()
            except RateLimited as limited:
                _report(on_call, RATE_LIMITED)
                failures += 1
                wait = self.rate_limit_pause(limited)
                if failures >= self.attempts or self.clock() + wait > deadline:
                    raise
                if pacer is not None:
                    pacer.pause(bucket, wait)
                else:
                    self.sleep(wait)
                continue
            except CrmError as failure:
                _report(on_call, FAILED)
                failures += 1
                if not failure.retryable or failures >= self.attempts:
                    raise
                delay = self.backoff(failures)
                if self.clock() + delay > deadline:
                    raise
                self.sleep(delay)
                continue
            _report(on_call, OK)
            return result


def _report(on_call: OnCall | None, outcome: str) -> None:
    if on_call is not None:
        on_call(outcome)


class CallTally:
    """Counts of attempt outcomes, thread-safe; pass it as `on_call`."""

    def __init__(self) -> None:
        self._counts = dict.fromkeys(OUTCOMES, 0)
        self._lock = threading.Lock()

    def __call__(self, outcome: str) -> None:
        if outcome not in self._counts:
            raise ValueError(f"unknown call outcome {outcome!r}")
        with self._lock:
            self._counts[outcome] += 1

    def counts(self) -> dict[str, int]:
        """Attempts per outcome so far."""
        with self._lock:
            return dict(self._counts)

    @property
    def total(self) -> int:
        """Attempts so far."""
        with self._lock:
            return sum(self._counts.values())

    def success_rate(self) -> float | None:
        """Share of attempts that succeeded (None before the first)."""
        counts = self.counts()
        total = sum(counts.values())
        return counts[OK] / total if total else None
