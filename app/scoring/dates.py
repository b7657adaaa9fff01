"""Date parsing for lead fields: ISO 8601, plain dates and Unix epoch milliseconds.

Results are cached by the exact input string because CRM exports repeat the same
dates across many leads, and parsing dominates the engine's cost otherwise. Only
short ASCII strings are parsed and cached: no date format needs more than
`MAX_DATE_CHARS`, so longer or non-ASCII text counts as absent, which bounds both
the work per string and the bytes the cache can hold (`_CACHE_LIMIT` keys of at
most `MAX_DATE_CHARS` ASCII characters: a few MB per process).
"""

import math
from datetime import UTC, datetime

MAX_DATE_CHARS = 64  # "2024-01-01T10:00:00.123456+05:30" is 32; padding allowed
_EPOCH_MS_DIGITS = 6  # shorter digit strings are not plausible epoch milliseconds
_CACHE_LIMIT = 32_768
_cache: dict[str, float | None] = {}


def parse_timestamp(text: str) -> float | None:
    """Return the Unix time in seconds for a date string, or None if unparseable."""
    try:
        return _cache[text]
    except KeyError:
        pass
    if len(text) > MAX_DATE_CHARS or not text.isascii():
        return None  # not a date; kept out of the cache so it cannot fill it
    parsed = _parse_uncached(text)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.clear()
    _cache[text] = parsed
    return parsed


def timestamp_from_number(value: float) -> float | None:
    """Epoch milliseconds given as a JSON number; None when out of any sane range."""
    try:
        seconds = value / 1000.0
    except OverflowError:  # an integer beyond float range
        return None
    if not math.isfinite(seconds):
        return None
    # Years 1..9999, the range datetime can represent; anything else is garbage.
    if not -62_135_596_800 <= seconds <= 253_402_300_799:
        return None
    return seconds


def _parse_uncached(text: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    # ASCII digits only: str.isdigit alone also accepts superscript and circled
    # digits, which int() then refuses.
    if text.isdigit() and text.isascii():
        if len(text) < _EPOCH_MS_DIGITS:
            return None
        return timestamp_from_number(int(text))
    if len(text) == 10 and text[4] == "/" and text[7] == "/":
        text = text.replace("/", "-")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
