"""/leads served straight from WSGI, in front of Flask.

The scoring endpoint is the product's hot path: on single-lead requests Flask's
request and response objects cost as much as the scoring itself, so this middleware
answers /leads (POST, CORS preflight, 405 for other methods) and hands every other
path to Flask.
"""

from collections.abc import Callable, Iterable
from typing import Any

import orjson

from app.services.scoring.leads import LeadScoringService, ScoringRequestError

_STATUS_LINES = {
    200: "200 OK",
    204: "204 No Content",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    405: "405 Method Not Allowed",
    411: "411 Length Required",
    413: "413 Request Entity Too Large",
    503: "503 Service Unavailable",
}
_JSON = ("Content-Type", "application/json")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LeadsFastPath:
    """WSGI middleware answering POST /leads; everything else falls through."""

    def __init__(
        self,
        fallback: WsgiApp,
        service: LeadScoringService,
        max_body: int,
        cors_origins: Iterable[str] = (),
    ) -> None:
        self._fallback = fallback
        self._service = service
        self._max_body = max_body
        self._cors_origins = frozenset(cors_origins)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/leads":
            return self._fallback(environ, start_response)
        method = environ["REQUEST_METHOD"]
        headers = [_JSON]
        origin = environ.get("HTTP_ORIGIN")
        if origin is not None and origin in self._cors_origins:
            headers.append(("Access-Control-Allow-Origin", origin))
            headers.append(("Vary", "Origin"))
        if method == "POST":
            status, body = self._handle(environ)
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
        return (body,)

    def _handle(self, environ: dict[str, Any]) -> tuple[int, bytes]:
        limit = self._max_body
        declared = environ.get("CONTENT_LENGTH")
        try:
            length = int(declared) if declared else None
        except ValueError:
            return 400, _error("Invalid Content-Length header")
        if length is not None and length > limit:
            return 413, _error(f"Request body too large: the limit is {limit} bytes")
        stream = environ["wsgi.input"]
        body = stream.read(length) if length is not None else stream.read(limit + 1)
        if len(body) > limit:
            return 413, _error(f"Request body too large: the limit is {limit} bytes")
        try:
            return 200, self._service.score_body(body)
        except ScoringRequestError as error:
            return error.status, _error(error.message)


def _error(message: str) -> bytes:
    return orjson.dumps({"error": message})
