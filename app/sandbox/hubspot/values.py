"""Property-value validation and formatting the way HubSpot's v3 API does it:
every value is a string, datetimes read back as ISO-8601 with milliseconds, and a
bad value fails with a `VALIDATION_ERROR` naming the property and the error code."""

import math
import re
import time
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CANONICAL = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
# Allowed values per options list, checked by identity (a PATCH replaces the list).
_ALLOWED: dict[int, tuple[list, frozenset[str]]] = {}
_ALLOWED_LIMIT = 1_000
# Records render the same few timestamps again and again (their creation and
# last write): formatted once, kept up to a bound.
_ISO: dict[float, str] = {}
_ISO_LIMIT = 100_000


class InvalidValue(Exception):
    """A value HubSpot would reject; carries HubSpot's error code."""

    def __init__(self, name: str, code: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.code = code
        self.message = message

    def as_detail(self) -> dict[str, Any]:
        """The element HubSpot embeds in its 'Property values were not valid' text."""
        return {
            "isValid": False,
            "message": self.message,
            "error": self.code,
            "name": self.name,
            "localizedErrorMessage": self.message,
        }


def iso(ts: float) -> str:
    """Unix seconds → HubSpot's `2026-01-01T00:00:00.000Z` (milliseconds cut)."""
    found = _ISO.get(ts)
    if found is not None:
        return found
    millis = math.floor(ts * 1000)
    seconds, fraction = divmod(millis, 1000)
    t = time.gmtime(seconds)
    text = (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{fraction:03d}Z"
    )
    if len(_ISO) >= _ISO_LIMIT:
        _ISO.clear()
    _ISO[ts] = text
    return text


def parse_time(value: str) -> float | None:
    """Epoch milliseconds, `YYYY-MM-DD` or ISO-8601 → unix seconds (None if not)."""
    text = str(value).strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) / 1000.0
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def normalize(definition: dict[str, Any], value: Any) -> str | None:
    """Validate `value` for a property and return the string HubSpot would store."""
    name = definition["name"]
    if value is None or value == "":
        return ""
    text = value if isinstance(value, str) else _stringify(value)
    kind = definition["type"]
    if kind == "enumeration" and definition["options"]:
        allowed = _allowed(definition["options"])
        chosen = text.split(";") if definition["fieldType"] == "checkbox" else [text]
        for item in chosen:
            if item not in allowed:
                raise InvalidValue(
                    name,
                    "INVALID_OPTION",
                    f"{item} was not one of the allowed options: "
                    + ", ".join(
                        f"[label: {o['label']}, value: {o['value']}]"
                        for o in definition["options"]
                    ),
                )
    elif kind == "number":
        try:
            float(text)
        except ValueError:
            raise InvalidValue(
                name, "INVALID_LONG", f"{text} was not a valid long."
            ) from None
    elif kind == "bool":
        if text.lower() not in ("true", "false"):
            raise InvalidValue(
                name, "INVALID_BOOLEAN", f"{text} was not a valid boolean."
            )
        text = text.lower()
    elif kind == "datetime" and _CANONICAL.fullmatch(text):
        # Already HubSpot's own form: only check that it is a real moment.
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise InvalidValue(
                name, "INVALID_DATE", f"{text} was not a valid date."
            ) from None
        return text
    elif kind in ("datetime", "date"):
        moment = parse_time(text)
        if moment is None:
            raise InvalidValue(name, "INVALID_DATE", f"{text} was not a valid date.")
        if kind == "date":
            day = datetime.fromtimestamp(moment, tz=UTC)
            if (day.hour, day.minute, day.second) != (0, 0, 0):
                raise InvalidValue(
                    name,
                    "INVALID_DATE",
                    f"{text} is at {day.strftime('%H:%M:%S')} but should be "
                    "midnight UTC.",
                )
            return day.strftime("%Y-%m-%d")
        return iso(moment)
    if name == "email" and not _EMAIL.match(text):
        raise InvalidValue(name, "INVALID_EMAIL", f"Email address {text} is invalid")
    return text


def _stringify(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _allowed(options: list[dict[str, Any]]) -> frozenset[str]:
    """The option values of a property, cached per options list."""
    cached = _ALLOWED.get(id(options))
    if cached is not None and cached[0] is options:
        return cached[1]
    if len(_ALLOWED) >= _ALLOWED_LIMIT:
        _ALLOWED.clear()
    values = frozenset(option["value"] for option in options)
    _ALLOWED[id(options)] = (options, values)
    return values
