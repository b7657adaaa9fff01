"""Identifiers the way a HubSpot portal hands them out.

Record ids are 64-bit: current portals give contacts and deals 11–12 digit ids
(e.g. 541935488729), increasing with gaps, one id space per object type. Each new
portal here starts just below 10^11, so its ids cross from 11 to 12 digits after a
few dozen records: a client that sorts ids as strings, or squeezes them into 32
bits, fails at once. Hub ids, user ids and app ids are int32 in HubSpot's specs.
"""

import random

INT32_MAX = 2**31 - 1
ELEVEN_TO_TWELVE_DIGITS = 10**11
MAX_GAP = 3_000
# How far below 10^11 each object type's sequence begins: (least, most).
STARTS = {
    "contacts": (40_000, 80_000),
    "companies": (30_000, 40_000),
    "deals": (15_000, 30_000),
}


class RecordIds:
    """Increasing, gapped, 64-bit ids of one object type in one portal."""

    def __init__(self, rng: random.Random, first: int) -> None:
        self._rng = rng
        self._next = first

    def allocate(self) -> str:
        """The next record id, as the string HubSpot's JSON carries."""
        value = self._next
        self._next += self._rng.randint(1, MAX_GAP)
        return str(value)


def record_ids(hub_id: int, object_type: str, seed: int = 0) -> RecordIds:
    """The id sequence of one object type in portal `hub_id` (reproducible)."""
    rng = random.Random(f"{seed}:{hub_id}:{object_type}")
    least, most = STARTS[object_type]
    return RecordIds(rng, ELEVEN_TO_TWELVE_DIGITS - rng.randint(least, most))


def check_hub_id(hub_id: object) -> int:
    """A valid hub id as int: HubSpot types hub ids as int32 (8–9 digits today)."""
    if isinstance(hub_id, bool):
        raise ValueError("hub_id must be an integer")
    try:
        value = int(hub_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ValueError(f"hub_id must be an integer, got {hub_id!r}") from None
    if not 1 <= value <= INT32_MAX:
        raise ValueError(f"hub_id must be between 1 and {INT32_MAX}, got {value}")
    return value


def parse_record_id(raw: object) -> int | None:
    """A record id as int, or None when it is not a positive decimal number."""
    text = str(raw)
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if 0 < value < 2**63 else None
