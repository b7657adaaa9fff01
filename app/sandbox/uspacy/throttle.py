"""Per-portal rate limit of the Uspacy emulation.

Uspacy publishes no numbers (its SDKs only retry 429 with `Retry-After`). Its
services are Laravel, whose stock API throttle is 60 calls per minute per user in
a fixed window that starts at the first call; that is what is emulated (ASSUMED),
per portal since each portal is its own host and the app is one user on it.
Calls refused with 429 do not count, as in Laravel. The numbers are knobs:
`calls_per_window` (60) and `window_seconds` (60). Answers carry Laravel's
`X-RateLimit-Limit` / `X-RateLimit-Remaining`, and 429s `Retry-After` (seconds
until the window ends) and `X-RateLimit-Reset`.
"""

import math
import threading
from dataclasses import dataclass

from app.sandbox.clock import Clock

DEFAULT_CALLS = 60
DEFAULT_WINDOW = 60


@dataclass
class Window:
    """One portal's current window."""

    started: float
    calls: int = 0


@dataclass
class Verdict:
    """The outcome of one call against the limit."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0
    reset_at: int = 0


class PortalThrottle:
    """Fixed windows keyed by portal domain."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, Window] = {}

    def hit(self, domain: str, limit: int, seconds: int) -> Verdict:
        """Count one call if the window has room."""
        now = self._clock.now()
        with self._lock:
            window = self._windows.get(domain)
            if window is None or now >= window.started + seconds:
                window = self._windows[domain] = Window(started=now)
            if window.calls >= limit:
                ends = window.started + seconds
                return Verdict(
                    False, limit, 0, max(1, math.ceil(ends - now)), math.ceil(ends)
                )
            window.calls += 1
            return Verdict(True, limit, limit - window.calls)

    def reset(self, domain: str) -> None:
        """Forget a portal's window."""
        with self._lock:
            self._windows.pop(domain, None)
