"""A bucket's rate: at most so many calls in any window of so many seconds."""

from dataclasses import dataclass

MAX_CALLS = 100_000
MAX_WINDOW_SECONDS = 86_400.0


@dataclass(frozen=True, slots=True)
class Rate:
    """At most `calls` calls in any `seconds`."""

    calls: int
    seconds: float

    def __post_init__(self) -> None:
        if isinstance(self.calls, bool) or not 1 <= self.calls <= MAX_CALLS:
            raise ValueError(f"calls must be 1–{MAX_CALLS}")
        if not 0.001 <= self.seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"seconds must be 0.001–{MAX_WINDOW_SECONDS:g}")

    @property
    def window_ms(self) -> int:
        """The window in whole milliseconds."""
        return max(1, round(self.seconds * 1000))
