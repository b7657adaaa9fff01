"""Property-value validation and formatting the way HubSpot's v3 API does it:
every value is a string, datetimes read back as ISO-8601 with milliseconds, and a
bad value fails with a `VALIDATION_ERROR` naming the property and the error code."""

import re
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    """Unix seconds → HubSpot's `2026-01-01T00:00:00.000Z`."""
    moment = datetime.fromtimestamp(ts, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


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
        allowed = [option["value"] for option in definition["options"]]
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
