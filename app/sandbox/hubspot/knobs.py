"""Per-account behaviour knobs of the HubSpot emulation, with their defaults and
checks. Faults (errors, latency, forced 429s) live apart, in `faults`; these knobs
set how an honest HubSpot behaves for one portal:

- `access_token_seconds`: lifetime of access tokens issued from now on (1800).
- `search_index_delay`: seconds on the sandbox clock before a write is visible to
  search; until then search shows the old state (reads by id are always current).
- `unavailable_scopes`: scopes whose tool or tier the portal lacks; optional ones
  are silently not granted, required ones make the install fail.
- `rotate_refresh_tokens`: each refresh returns a new refresh token and kills the
  old one (whether HubSpot rotates is unverified, so it is a knob).
"""

from typing import Any

ACCESS_TOKEN_SECONDS = 1800
# A write reaches HubSpot's search index a few seconds later (community reports;
# the exact lag is unpublished). The sandbox defaults to 2 s on its own clock.
DEFAULT_SEARCH_INDEX_DELAY = 2.0
MAX_TOKEN_SECONDS = 86_400
MAX_INDEX_DELAY = 3_600.0
MAX_SCOPES = 200


def default_knobs(
    search_index_delay: float = DEFAULT_SEARCH_INDEX_DELAY,
) -> dict[str, Any]:
    """The knobs of a fresh portal."""
    return {
        "access_token_seconds": ACCESS_TOKEN_SECONDS,
        "search_index_delay": float(search_index_delay),
        "unavailable_scopes": [],
        "rotate_refresh_tokens": False,
    }


def _seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("access_token_seconds must be a number of seconds")
    if not 1 <= value <= MAX_TOKEN_SECONDS:
        raise ValueError(f"access_token_seconds must be 1–{MAX_TOKEN_SECONDS}")
    return int(value)


def _delay(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("search_index_delay must be a number of seconds")
    if not 0 <= value <= MAX_INDEX_DELAY:
        raise ValueError(f"search_index_delay must be 0–{MAX_INDEX_DELAY}")
    return float(value)


def _scopes(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_SCOPES:
        raise ValueError(f"unavailable_scopes must be a list of ≤ {MAX_SCOPES}")
    if not all(isinstance(scope, str) and 0 < len(scope) <= 200 for scope in value):
        raise ValueError("unavailable_scopes must hold scope names")
    return sorted(set(value))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("rotate_refresh_tokens must be true or false")
    return value


CHECKS = {
    "access_token_seconds": _seconds,
    "search_index_delay": _delay,
    "unavailable_scopes": _scopes,
    "rotate_refresh_tokens": _flag,
}


def checked(changes: dict[str, Any]) -> dict[str, Any]:
    """Validate knob changes; ValueError names the first bad one."""
    unknown = set(changes) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown knobs: {sorted(unknown)}")
    return {name: CHECKS[name](value) for name, value in changes.items()}
