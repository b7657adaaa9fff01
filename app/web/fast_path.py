"""/leads served straight from WSGI, in front of Flask.

The scoring endpoint is the product's hot path: on single-lead requests Flask's
request and response objects cost as much as the scoring itself, so this middleware
answers /leads (POST, CORS preflight, 405 for other methods) and hands every other
path to Flask. It is a thin adapter: it reads the HTTP request, calls the scoring
use cases, and maps their errors with the same table as the Flask routes; anything
unexpected is logged with the request id and answered as JSON 500. Its rate limits
(ratelimit.py) are checked here too, in process memory.
"""

import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from app.services.errors import (
    DomainError,
    InvalidInput,
    LimitExceeded,
    NotAuthenticated,
)
from app.services.scoring.leads import LeadScoring
from app.web.errors import (
    INTERNAL_ERROR,
    body_too_large,
    request_id_from,
    status_of,
)
from app.web.identity import check_identity
from app.web.ratelimit import LeadsRateLimits, RateLimited

log = logging.getLogger(__name__)

_STATUS_LINES = {
    200: "200 OK",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Request Entity Too Large",
    422: "422 Unprocessable Entity",
    429: "429 Too Many Requests",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}
_JSON = ("Content-Type", "application/json")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LeadsFastPath:
    """WSGI middleware answering POST /leads; everything else falls through."""

    def __init__(
        self,
        fallback: WsgiApp,
        scoring: LeadScoring,
        max_body: int,
        max_leads: int,
        cors_origins: Iterable[str] = (),
        limits: LeadsRateLimits | None = None,
    ) -> None:
        self._fallback = fallback
        self._limits = limits
        self._scoring = scoring
        self._max_body = max_body
        self._max_leads = max_leads
        self._cors_origins = frozenset(cors_origins)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/leads":
            return self._fallback(environ, start_response)
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID"))
        method = environ["REQUEST_METHOD"]
        headers = [_JSON, ("X-Request-Id", request_id)]
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin in self._cors_origins:
            headers.append(("Access-Control-Allow-Origin", origin))
            headers.append(("Vary", "Origin"))
        if method == "POST":
            status, body = self._answer(environ, request_id, headers)
        elif method == "OPTIONS":
            status, body = 204, b""
            headers[0] = ("Allow", "POST, OPTIONS")
            headers.append(("Access-Control-Allow-Methods", "POST, OPTIONS"))
            headers.append(("Access-Control-Allow-Headers", "Content-Type"))
            headers.append(("Access-Control-Max-Age", "86400"))
        else:
            status, body = 405, _error("Method not allowed")
            headers.append(("Allow", "POST, OPTIONS"))
        headers.append(("Content-Length", str(len(body))))
        start_response(_STATUS_LINES[status], headers)
        # A HEAD answer has headers only (gunicorn sends whatever it is given).
        return () if method == "HEAD" else (body,)

    def _answer(
        self, environ: dict[str, Any], request_id: str, headers: list[tuple[str, str]]
    ) -> tuple[int, bytes]:
        limits = self._limits
        try:
            if limits is not None and limits.over:
                limits.admit(environ)  # someone failed too often: is it this caller?
            return 200, self._score(environ)
        except RateLimited as limited:
            headers.append(("Retry-After", str(limited.retry_after)))
            headers.append(("Access-Control-Expose-Headers", "Retry-After"))
            return 429, _error(limited.message)
        except DomainError as error:
            if limits is not None and type(error) is NotAuthenticated:
                limits.failed(environ)
            return status_of(error), _error(error.message)
        except Exception:
            log.exception("unhandled error in POST /leads [request_id=%s]", request_id)
            return 500, _error(INTERNAL_ERROR)

    def _score(self, environ: dict[str, Any]) -> bytes:
        payload = decode_json(read_body(environ, self._max_body))
        if type(payload) is not dict:
            raise InvalidInput("Invalid request body: expected a JSON object")
        api_key = payload.get("api_key")
        email = payload.get("email")
        if not (type(api_key) is str and api_key and type(email) is str and email):
            raise NotAuthenticated("api_key and email required")
        check_identity("api_key", api_key)
        check_identity("email", email)
        leads = payload.get("leads")
        if not leads:
            raise InvalidInput("No leads provided")
        if type(leads) is not list:
            raise InvalidInput("Invalid request body: leads must be an array")
        if len(leads) > self._max_leads:
            raise LimitExceeded(
                f"Too many leads: {len(leads)} in one request, "
                f"the limit is {self._max_leads}"
            )
        client_id = payload.get("client_id")
        if client_id is not None and type(client_id) is not str:
            raise InvalidInput("Invalid request body: client_id must be a string")
        if client_id:
            check_identity("client_id", client_id)
        scoring = self._scoring
        config = scoring.authenticate(api_key, client_id or email)
        limits = self._limits
        if limits is not None:
            limits.spend(config.client_id)
        now = scoring.clock()
        scored = scoring.score_batch(config, leads, now)
        scoring.remember(config, scored, now)
        return scoring.encode(config, scored)


def read_body(environ: dict[str, Any], limit: int) -> bytes:
    """The request body, refusing one above `limit` bytes (LimitExceeded, 413)
    whether its length is declared or not: a chunked body (which gunicorn
    decodes into wsgi.input, with no CONTENT_LENGTH) is read up to one byte past
    the limit, so it is refused rather than cut short."""
    declared = environ.get("CONTENT_LENGTH")
    try:
        length = int(declared) if declared else None
    except ValueError:
        raise InvalidInput("Invalid Content-Length header") from None
    if length is not None and length > limit:
        raise LimitExceeded(body_too_large(limit))
    stream = environ["wsgi.input"]
    try:
        body = stream.read(length) if length is not None else stream.read(limit + 1)
    except TimeoutError:  # the server's idle limit on client sockets
        raise InvalidInput(
            "Request body incomplete: the client stopped sending"
        ) from None
    if len(body) > limit:
        raise LimitExceeded(body_too_large(limit))
    return body


def decode_json(body: bytes) -> Any:
    """Decode JSON, naming what is wrong with it."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"Invalid request body: {error}") from None


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})
