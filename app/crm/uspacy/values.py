"""Reading Uspacy field values whatever their field type: plain text, phone and
email items (`[{value, main}]`), list options (`[{title, value, selected}]`),
entity references (`[{id, title}]`), money (`{currency, value}`), and unix
seconds. A value that cannot mean what is asked of it reads as None: one odd
record must never stop a batch."""

import math
from datetime import UTC, datetime
from typing import Any

from app.crm.uspacy import contract
from app.scoring.dates import parse_timestamp

MAX_COUNT = 10**9
MAX_ITEMS = 100
# Years 1970..9999 in unix seconds: the range a CRM date can mean.
MAX_SECONDS = 253_402_300_799


def text(raw: Any, limit: int, prefer: str = "title") -> str | None:
    """A value as text: a string, a number, or the chosen item of a list (the
    main phone or email, the selected option, the first company); items give
    their `prefer` key (`title` or `value`) first."""
    if isinstance(raw, list):
        raw = chosen_item(raw)
    if isinstance(raw, dict):
        other = "value" if prefer == "title" else "title"
        found = raw.get(prefer)
        raw = found if isinstance(found, str) and found.strip() else raw.get(other)
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float) and math.isfinite(raw):
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)
    if not isinstance(raw, str):
        return None
    cleaned = raw[:limit].strip()
    return cleaned or None


def chosen_item(items: list[Any]) -> Any:
    """The item a list shows first: the one marked `main` or `selected`, else
    the first. Options nobody selected (`selected: false` on every one) give
    None: a list field with no choice is empty."""
    rows = [item for item in items[:MAX_ITEMS] if item is not None]
    if not rows:
        return None
    for item in rows:
        if isinstance(item, dict) and (
            item.get("main") is True or item.get(contract.SELECTED_KEY) is True
        ):
            return item
    first = rows[0]
    if isinstance(first, dict) and first.get(contract.SELECTED_KEY) is False:
        return None
    return first


def count(raw: Any) -> int | None:
    """A non-negative whole number (12, 12.0, "12"); None when absent or odd."""
    number = _number(raw)
    if number is None or number < 0 or number > MAX_COUNT:
        return None
    return int(number)


def amount(raw: Any) -> float | None:
    """A money value (`{currency, value}` with a numeric string) or a number."""
    if isinstance(raw, dict):
        raw = raw.get("value")
    number = _number(raw)
    return number if number is not None and 0 <= number <= 1e15 else None


def epoch_millis(raw: Any) -> int | None:
    """A date as the scoring engine reads numbers: epoch MILLISECONDS. Uspacy
    numbers are unix SECONDS (`created_at`, datetime fields); an ISO date
    string is converted too."""
    seconds = seconds_of(raw)
    return None if seconds is None else int(round(seconds * 1000))


def moment(raw: Any) -> datetime | None:
    """A Uspacy date (unix seconds or ISO text) as a UTC datetime."""
    seconds = seconds_of(raw)
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def seconds_of(raw: Any) -> float | None:
    """Unix seconds from a number, a digit string, or ISO text; None if odd."""
    if isinstance(raw, str) and not raw.strip().isdigit():
        parsed = parse_timestamp(raw.strip()) if raw.strip() else None
        return parsed if parsed is not None and 0 <= parsed <= MAX_SECONDS else None
    number = _number(raw)
    if number is None or not 0 < number <= MAX_SECONDS:
        return None
    return number


def record_id(raw: Any) -> str | None:
    """A Uspacy record id (a positive integer, or its digits) as our string id."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return str(raw) if 0 < raw < 2**63 else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
        return str(value) if 0 < value < 2**63 else None
    return None


def reference_id(raw: Any) -> str | None:
    """The id of the first entity a reference field holds (`{id}` or a list)."""
    if isinstance(raw, list):
        raw = next((item for item in raw[:MAX_ITEMS] if isinstance(item, dict)), None)
    return record_id(raw.get("id")) if isinstance(raw, dict) else None


def reference_ids(raw: Any) -> tuple[str, ...]:
    """The ids of every entity a reference list holds (at most MAX_ITEMS)."""
    if not isinstance(raw, list):
        return ()
    found = (
        record_id(item.get("id")) for item in raw[:MAX_ITEMS] if isinstance(item, dict)
    )
    return tuple(dict.fromkeys(i for i in found if i is not None))


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) > 32:
            return None
        try:
            raw = float(raw.strip())
        except ValueError:
            return None
    if not isinstance(raw, int | float):
        return None
    number = float(raw)
    return number if math.isfinite(number) else None
