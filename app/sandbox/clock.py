"""Injectable clocks, so rate-limit windows and token expiry can be tested without
sleeping. Real time is the default everywhere."""

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the time in unix seconds."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """Return the current unix time in seconds."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to; for tests."""

    def __init__(self, start: float | None = None) -> None:
        self._now = time.time() if start is None else start
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the frozen time."""
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        with self._lock:
            self._now += seconds

    def set(self, when: float) -> None:
        """Jump to unix time `when`."""
        with self._lock:
            self._now = when
