"""Reading lead fields from a plain mapping, tolerant of the shapes real tools send.

Strings may arrive as numbers (phone numbers from spreadsheets), counts as numeric
strings (n8n and Zapier stringify often), dates as epoch milliseconds. Anything that
cannot mean the field's type raises LeadFieldError naming the field. Text is read
up to `MAX_TEXT_CHARS`: no name, title or address needs more, and the rest would
only cost memory wherever the text is kept (the response, caches, the recorder).
"""

import math

from app.scoring.dates import parse_timestamp, timestamp_from_number

MAX_TEXT_CHARS = 1_000


class LeadFieldError(ValueError):
    """A lead field has a type that cannot be read as what the field means."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"{field} must be {expected}")
        self.field = field
        self.expected = expected


def text(value: object, field: str) -> str:
    """A string field, stripped and cut at MAX_TEXT_CHARS; None and absent are
    empty."""
    if value is None:
        return ""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_TEXT_CHARS:  # type: ignore[arg-type]
            value = value[:MAX_TEXT_CHARS]  # type: ignore[index]
        return value.strip()  # type: ignore[union-attr]
    if kind is int or (kind is float and math.isfinite(value)):  # type: ignore[arg-type]
        try:
            return str(value)
        except ValueError:  # an integer too long to print
            raise LeadFieldError(field, "a string") from None
    raise LeadFieldError(field, "a string")


def count(value: object, field: str) -> float:
    """A non-negative count; None, empty and negative read as 0."""
    if value is None:
        return 0.0
    kind = type(value)
    if kind is int or kind is float:
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:  # an integer beyond float range
            number = math.inf if value > 0 else 0.0  # type: ignore[operator]
    elif kind is str:
        stripped = value.strip()  # type: ignore[union-attr]
        if not stripped:
            return 0.0
        try:
            number = float(stripped)
        except ValueError:
            raise LeadFieldError(field, "a number") from None
    else:
        raise LeadFieldError(field, "a number")
    if number != number or number <= 0:  # NaN or negative: no activity recorded
        return 0.0
    return number


def timestamp(value: object, field: str) -> float | None:
    """A date as Unix seconds, or None when absent or unparseable."""
    if value is None:
        return None
    kind = type(value)
    if kind is str:
        return parse_timestamp(value)  # type: ignore[arg-type]
    if kind is int or kind is float:
        return timestamp_from_number(value)  # type: ignore[arg-type]
    raise LeadFieldError(field, "a date string or epoch milliseconds")
