"""Per-portal fault and delivery knobs of the Uspacy emulation, with their defaults
and checks, and the fault injection every API call goes through.

Faults (`PUT /_control/portals/{domain}/faults`), drawn once per call from the
portal's own seeded stream, so a run with the same seed fails the same calls:

- `error_rate`: share of calls answered 500, 502 or 503 (equally often). 500 has
  Laravel's `{"message": "Server Error"}` body; 502/503 come from the proxy in
  front as an HTML page (ASSUMED: Uspacy's gateway is nginx), so a client that
  parses every error body as JSON fails here as it would in production.
- `throttle_rate`: share of calls answered 429 with `Retry-After: retry_after`.
- `hang_rate`: share of calls that hang `hang_seconds` (30) and then get 504,
  i.e. the client's own timeout is what ends them.
- `latency`: seconds every call waits before it is served.
- `seed`: restart the portal's fault stream from this seed.

Delivery (`PUT /_control/portals/{domain}/delivery`), for outgoing webhooks:

- `envelope`: `plain` (Uspacy's event JSON) or `sns` (AWS SNS `Notification`
  wrapping it, with a `SubscriptionConfirmation` handshake).
- `duplicate_rate`: share of events delivered twice.
- `reorder_rate`: share of events held back and sent after the portal's next one.
- `seed`: restart the portal's delivery stream from this seed.
"""

from typing import TYPE_CHECKING, Any

from flask import Response, jsonify

if TYPE_CHECKING:
    from threading import Event

    from app.sandbox.uspacy.store import Portal

ERROR_STATUSES = (500, 502, 503)
MAX_HANG_SECONDS = 600.0
ENVELOPES = ("plain", "sns")
NGINX_PAGE = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
REASONS = {
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def default_faults() -> dict[str, Any]:
    """The faults of a fresh portal: none."""
    return {
        "error_rate": 0.0,
        "throttle_rate": 0.0,
        "retry_after": 1,
        "hang_rate": 0.0,
        "hang_seconds": 30.0,
        "latency": 0.0,
        "seed": None,
    }


def default_delivery() -> dict[str, Any]:
    """Webhook delivery of a fresh portal: plain bodies, once each, in order."""
    return {
        "envelope": "plain",
        "duplicate_rate": 0.0,
        "reorder_rate": 0.0,
        "seed": None,
    }


def _number(name: str, low: float, high: float) -> Any:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not low <= value <= high:
            raise ValueError(f"{name} must be {low}–{high}")
        return float(value)

    return check


def _whole(name: str, low: int, high: int) -> Any:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be a whole number")
        if not low <= value <= high:
            raise ValueError(f"{name} must be {low}–{high}")
        return value

    return check


def _envelope(value: Any) -> str:
    if value not in ENVELOPES:
        raise ValueError(f"envelope must be one of {list(ENVELOPES)}")
    return value


FAULT_CHECKS = {
    "error_rate": _number("error_rate", 0, 1),
    "throttle_rate": _number("throttle_rate", 0, 1),
    "retry_after": _whole("retry_after", 0, 3600),
    "hang_rate": _number("hang_rate", 0, 1),
    "hang_seconds": _number("hang_seconds", 0, MAX_HANG_SECONDS),
    "latency": _number("latency", 0, 60),
    "seed": _whole("seed", 0, 2**63),
}
DELIVERY_CHECKS = {
    "envelope": _envelope,
    "duplicate_rate": _number("duplicate_rate", 0, 1),
    "reorder_rate": _number("reorder_rate", 0, 1),
    "seed": _whole("seed", 0, 2**63),
}
KNOB_CHECKS = {
    "rate_limit": _whole("rate_limit", 0, 1_000_000),
    "tariff_exceeded": lambda v: bool(v),
    "non_admin": lambda v: bool(v),
    "calls_per_window": _whole("calls_per_window", 1, 1_000_000),
    "window_seconds": _whole("window_seconds", 1, 86_400),
}


def checked(changes: dict[str, Any], checks: dict[str, Any]) -> dict[str, Any]:
    """Validate knob changes; ValueError names the first bad one."""
    unknown = set(changes) - set(checks)
    if unknown:
        raise ValueError(f"unknown knobs: {sorted(unknown)}")
    return {name: checks[name](value) for name, value in changes.items()}


def too_many_attempts(retry_after: int, limit: int | None = None) -> Response:
    """429 as Laravel's throttle answers it (ASSUMED for Uspacy's services)."""
    response = jsonify({"message": "Too Many Attempts."})
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    if limit is not None:
        response.headers["X-RateLimit-Limit"] = str(limit)
        response.headers["X-RateLimit-Remaining"] = "0"
    return response


def proxy_error(code: int) -> Response:
    """The HTML error page of the proxy in front of Uspacy's services."""
    page = NGINX_PAGE.format(code=code, reason=REASONS[code])
    return Response(page, status=code, content_type="text/html")


def inject(portal: "Portal", lock: Any, stopping: "Event") -> Response | None:
    """Apply the portal's faults to one call: None lets it through."""
    faults = portal.faults
    if faults["latency"]:
        stopping.wait(faults["latency"])
    with lock:
        draw = portal.api_random.random()
        rates = faults["hang_rate"] + faults["error_rate"] + faults["throttle_rate"]
        portal.failed += draw < rates
    hang, error = faults["hang_rate"], faults["error_rate"]
    if draw < hang:
        stopping.wait(faults["hang_seconds"])
        return proxy_error(504)
    if draw < hang + error:
        code = ERROR_STATUSES[min(2, int((draw - hang) / error * 3))]
        if code == 500:
            return _server_error()
        return proxy_error(code)
    if draw < hang + error + faults["throttle_rate"]:
        return too_many_attempts(faults["retry_after"])
    return None


def _server_error() -> Response:
    response = jsonify({"message": "Server Error"})
    response.status_code = 500
    return response
