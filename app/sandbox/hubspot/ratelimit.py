"""Exact rolling-window rate limits: 110 calls per 10 s per installed account and
5 searches per second per account (not per token), as HubSpot applies them to
OAuth apps (HubSpot's API documentation). Rejected calls do not use up the
window."""

import threading
from collections import deque

from app.sandbox.clock import Clock

TEN_SECONDLY_LIMIT = 110
TEN_SECONDLY_WINDOW = 10.0
SEARCH_LIMIT = 5
SEARCH_WINDOW = 1.0


class RollingWindow:
    """At most `limit` accepted calls per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._calls: dict[object, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: object) -> tuple[bool, int]:
        """Count one call if the window allows it; return (allowed, remaining)."""
        now = self._clock.now()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - self.window:
                calls.popleft()
            if len(calls) >= self.limit:
                return False, 0
            calls.append(now)
            return True, self.limit - len(calls)

    def reset(self, key: object) -> None:
        """Forget the calls of one key."""
        with self._lock:
            self._calls.pop(key, None)
