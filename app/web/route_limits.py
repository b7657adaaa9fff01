"""Rate limits of POST /config and POST / DELETE /feedback, with Flask-Limiter.

These routes go through Flask anyway, so a well-kept limiter counts them: in Redis
when REDIS_URL is set (every process shares the counts), else in process memory.
A Redis that fails or hangs (short socket timeouts) never fails a request: the
limiter falls back to memory and tries Redis again later. Counts are per caller
address (client_address.py); 401s are counted for all three routes together.
"""

import logging
import math
import time
from collections.abc import Callable
from typing import Any

import orjson
from flask import Flask, Response, request
from flask_limiter import Limiter, RateLimitExceeded

from app.web.client_address import ClientAddresses
from app.web.errors import json_error
from app.web.ratelimit import limit_setting

log = logging.getLogger(__name__)

# A Redis that does not answer within this (or STORE_TIMEOUT_SECONDS, if shorter)
# costs one request this long, then counting falls back to memory for a while.
_REDIS_TIMEOUT_SECONDS = 0.25
# Bodies up to this size are read early to see whether /config carries an API key.
_PEEK_BYTES = 64 * 1024


def register_rate_limits(app: Flask) -> None:
    """Limit POST /config and /feedback per caller address (one Limiter per app,
    so counts kept in memory never leak from one app into another)."""
    settings = app.config
    if not settings["RATE_LIMITS_ENABLED"]:
        return
    names = (
        "AUTH_FAILURE_RATE_LIMIT",
        "REGISTRATION_RATE_LIMIT",
        "CONFIG_RATE_LIMIT",
        "FEEDBACK_RATE_LIMIT",
    )
    for name in names:
        limit_setting(settings, name)  # a bad value stops the app at start
    addresses = ClientAddresses(settings["FORWARDED_ALLOW_IPS"])
    redis_url = settings["REDIS_URL"]
    timeout = min(
        _REDIS_TIMEOUT_SECONDS,
        settings.get("STORE_TIMEOUT_SECONDS") or _REDIS_TIMEOUT_SECONDS,
    )
    limiter = Limiter(
        key_func=lambda: addresses.limit_key(request.environ),
        app=app,
        storage_uri=redis_url or "memory://",
        storage_options=(
            {"socket_timeout": timeout, "socket_connect_timeout": timeout}
            if redis_url
            else {}
        ),
        strategy="fixed-window",
        key_prefix="conturs",
        # Fail open: storage errors are logged and the request goes on.
        swallow_errors=True,
        in_memory_fallback_enabled=bool(redis_url),
    )
    failures = limiter.shared_limit(
        settings["AUTH_FAILURE_RATE_LIMIT"],
        scope="failed-authentication",
        deduct_when=lambda response: response.status_code == 401,
        error_message="Too many failed authentications from this address",
    )
    _limit_view(
        app,
        "config_api.get_config",
        limiter.limit(
            settings["CONFIG_RATE_LIMIT"],
            scope="requests",
            error_message="Too many requests from this address",
        ),
        # Calls without a key register (or reveal that an email is registered).
        limiter.limit(
            settings["REGISTRATION_RATE_LIMIT"],
            scope="registration",
            exempt_when=_carries_api_key,
            error_message="Too many registrations from this address",
        ),
        failures,
    )
    # Recording and removing feedback draw on one count per address.
    feedback = limiter.shared_limit(
        settings["FEEDBACK_RATE_LIMIT"],
        scope="feedback-requests",
        error_message="Too many requests from this address",
    )
    for endpoint in ("config_api.post_feedback", "config_api.delete_feedback"):
        _limit_view(app, endpoint, feedback, failures)

    @app.errorhandler(RateLimitExceeded)
    def _too_many_requests(error: RateLimitExceeded) -> Response:
        waiting = _seconds_to_reset(limiter, error)
        response = json_error(
            429, f"{error.description} ({error.limit.limit}); retry after {waiting} s"
        )
        response.headers["Retry-After"] = str(waiting)
        return response


def _limit_view(app: Flask, endpoint: str, *limits: Callable[[Any], Any]) -> None:
    # Decorating this app's own view functions keeps the limits, and the Limiter
    # that counts them, per app; the blueprint's functions stay undecorated.
    view = app.view_functions[endpoint]
    for limit in limits:
        view = limit(view)
    app.view_functions[endpoint] = view


def _carries_api_key() -> bool:
    length = request.content_length
    if length is None or length > _PEEK_BYTES:
        return False
    try:
        payload = orjson.loads(request.get_data())  # cached for the view
    except orjson.JSONDecodeError:
        return False
    return isinstance(payload, dict) and bool(payload.get("api_key"))


def _seconds_to_reset(limiter: Limiter, error: RateLimitExceeded) -> int:
    try:
        current = limiter.current_limit
        if current is not None:
            return max(1, math.ceil(current.window[0] - time.time()))
    except Exception:  # the storage failed between the check and now
        log.warning("rate limit storage unreachable while answering 429")
    return error.limit.limit.get_expiry()
