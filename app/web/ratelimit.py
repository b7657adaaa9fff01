"""Rate limits of POST /leads: brute force and floods meet a 429 with Retry-After.

/leads is the hot path, answered before Flask (fast_path.py), so its limits are
counted here in plain per-process dicts: failed authentications per caller address
(strict) and requests per authenticated client (generous). A library check costs
more than the request it guards: `limits`' in-memory strategies (what Flask-Limiter
uses) and pyrate-limiter's in-memory bucket measured 3.6-4.8 µs per hit, a third of
a ~10 µs single-lead request; the counters below cost ~0.1 µs. POST /config and
POST /feedback are limited with Flask-Limiter (route_limits.py).
"""

import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from limits import RateLimitItem, parse

from app.web.client_address import ClientAddresses

log = logging.getLogger(__name__)

# Callers counted at once per counter: ~100 bytes each, so a flood of unique
# addresses costs at most a few MB; beyond it new callers go uncounted until the
# window ends (the ones already counted stay limited).
MAX_TRACKED = 50_000


class RateLimited(Exception):
    """The caller is over a limit; `retry_after` is in whole seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def limit_setting(settings: Mapping[str, Any], name: str) -> RateLimitItem:
    """A limit setting in the `limits` notation ("20/minute"); names it if bad."""
    value = settings[name]
    try:
        limit = parse(value)
    except ValueError:
        limit = None
    if limit is None or limit.amount < 1:
        raise ValueError(
            f'{name} must be a rate limit such as "20/minute", got {value!r}'
        )
    return limit


class FailureCounter:
    """Failures per caller in fixed windows that every caller shares.

    When a window ends all its counts end with it, so memory holds only the callers
    that failed in the current window, at most `max_keys` of them (later ones go
    uncounted until the window ends; the ones counted stay limited). The callers at
    their limit are also in `over`, so a request asks "is anyone over?" with one
    truth test and looks its own caller up only when someone is.
    Unlocked on purpose: a lost update between threads only undercounts by one.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        max_keys: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.period = period
        self.over: set[str] = set()
        self._max_keys = max_keys
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._window_end = 0.0
        self._full = False

    def __len__(self) -> int:
        return len(self._counts)

    def wait(self, key: str) -> int:
        """Seconds until `key` may try again; 0 while it is within its limit."""
        now = self._clock()
        if now >= self._window_end:
            self._new_window(now)
            return 0
        if key in self.over:
            return max(1, math.ceil(self._window_end - now))
        return 0

    def add(self, key: str) -> None:
        """Count one failure of `key`."""
        now = self._clock()
        if now >= self._window_end:
            self._new_window(now)
        counts = self._counts
        count = counts.get(key, 0) + 1
        if count == 1 and len(counts) >= self._max_keys:
            if not self._full:
                self._full = True
                log.warning(
                    "rate limiter tracks %d callers; new ones go uncounted until "
                    "the window ends",
                    self._max_keys,
                )
            return
        counts[key] = count
        if count >= self.limit:
            self.over.add(key)

    def _new_window(self, now: float) -> None:
        self._counts = {}
        self.over.clear()
        self._full = False
        self._window_end = (now // self.period + 1) * self.period


class RequestCounter:
    """Requests per key at the cost of one dict update: the clock is read only when
    a key is first seen and when it passes its limit.

    A key's window starts at its first request and, once passed, restarts with the
    first request after it ended; so a key never exceeds its limit within one of
    its windows, nor twice its limit in any period (a fixed window's bound). Keys
    are authenticated clients, which hostile traffic cannot multiply; the table is
    still emptied should it ever hold `max_keys`.
    """

    def __init__(
        self,
        limit: int,
        period: float,
        refusal: str = "Too many requests",
        max_keys: int = MAX_TRACKED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.period = period
        self._refusal = refusal
        self._max_keys = max_keys
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._starts: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._counts)

    def hit(self, key: str) -> None:
        """Count one request of `key`; RateLimited when it is over its limit."""
        counts = self._counts
        count = counts.get(key, 0) + 1
        counts[key] = count
        if count > self.limit:
            self._passed(key)
        elif count == 1:
            self._first(key)

    def _first(self, key: str) -> None:
        if len(self._counts) > self._max_keys:
            self._counts = {key: 1}
            self._starts = {}
        self._starts[key] = self._clock()

    def _passed(self, key: str) -> None:
        now = self._clock()
        start = self._starts.get(key, now)
        if now - start >= self.period:
            self._counts[key] = 1
            self._starts[key] = now
            return
        self._counts[key] = self.limit  # refused requests do not count
        waiting = max(1, math.ceil(start + self.period - now))
        raise RateLimited(f"{self._refusal}; retry after {waiting} s", waiting)


class LeadsRateLimits:
    """What POST /leads checks in each process, with no network call."""

    def __init__(
        self,
        addresses: ClientAddresses,
        failures: FailureCounter,
        requests: RequestCounter,
        failures_text: str = "",
    ) -> None:
        self._addresses = addresses
        self._failures = failures
        # Callers over their failures in this window (the counter's own set): the
        # hot path tests it for emptiness and calls `admit` only when it is not.
        self.over = failures.over
        self._failures_text = failures_text
        # Count a request of an authenticated client; RateLimited over its limit.
        # Bound once, so the hot path pays one call for it, not two.
        self.spend = requests.hit

    def admit(self, environ: Mapping[str, Any]) -> None:
        """RateLimited while the caller's failed authentications are over the limit."""
        if self.over:
            self._refuse_if_over(environ)

    def failed(self, environ: Mapping[str, Any]) -> None:
        """Count a failed authentication of the caller."""
        self._failures.add(self._addresses.limit_key(environ))

    def _refuse_if_over(self, environ: Mapping[str, Any]) -> None:
        waiting = self._failures.wait(self._addresses.limit_key(environ))
        if waiting:
            raise RateLimited(
                "Too many failed authentications from this address "
                f"({self._failures_text}); retry after {waiting} s",
                waiting,
            )


def leads_rate_limits(
    settings: Mapping[str, Any], clock: Callable[[], float] = time.monotonic
) -> LeadsRateLimits | None:
    """The /leads limits from settings; None when rate limits are off."""
    if not settings["RATE_LIMITS_ENABLED"]:
        return None
    failures = limit_setting(settings, "AUTH_FAILURE_RATE_LIMIT")
    requests = limit_setting(settings, "LEADS_RATE_LIMIT")
    return LeadsRateLimits(
        ClientAddresses(settings["FORWARDED_ALLOW_IPS"]),
        FailureCounter(failures.amount, failures.get_expiry(), clock=clock),
        RequestCounter(
            requests.amount,
            requests.get_expiry(),
            f"Too many requests for this client ({requests} in each server process)",
            clock=clock,
        ),
        str(failures),
    )
