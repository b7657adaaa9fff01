"""Every error leaves as JSON {"error": "..."}, never as an HTML page or a bare 500,
and this is the one place where the domain's errors become HTTP statuses."""

import itertools
import logging
import os
import secrets
import traceback

import orjson
from flask import Flask, Response, g, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from app.services.errors import (
    DomainError,
    InvalidInput,
    LimitExceeded,
    NoFactorValues,
    NotAuthenticated,
    NotFound,
    RegistrationClosed,
    Unavailable,
)

log = logging.getLogger(__name__)

STATUS_OF = {
    InvalidInput: 400,
    NotAuthenticated: 401,
    RegistrationClosed: 403,
    NotFound: 404,
    LimitExceeded: 413,
    NoFactorValues: 422,
    Unavailable: 503,
}
INTERNAL_ERROR = "Internal error; it has been logged"
STORE_UNAVAILABLE = "The data store is unavailable right now; try again shortly"
REQUEST_ID_HEADER = "X-Request-Id"

_MESSAGES = {404: "Not found", 405: "Method not allowed"}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error (its nearest mapped class)."""
    for cls in type(error).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


def body_too_large(limit: int) -> str:
    """The 413 message of every surface."""
    return f"Request body too large: the limit is {limit} bytes"


# Request ids must be unique, not secret: a random prefix per process and a counter
# cost a fraction of drawing random bytes per request on the hot path.
_ID_PREFIX = secrets.token_hex(4)
_ID_COUNTER = itertools.count(1)


def _new_process_ids() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX = secrets.token_hex(4)
    _ID_COUNTER = itertools.count(1)


os.register_at_fork(after_in_child=_new_process_ids)  # forked workers never share ids


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a sane token, else a new one."""
    if header and len(header) <= 64 and header.isascii() and header.isprintable():
        return header
    return f"{_ID_PREFIX}-{next(_ID_COUNTER)}"


def json_error(status: int, message: str) -> Response:
    """A JSON error response."""
    return Response(
        orjson.dumps({"error": message}), status=status, mimetype="application/json"
    )


def register_error_handlers(app: Flask) -> None:
    """Domain errors, Werkzeug's HTML errors and unexpected exceptions as JSON."""

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return json_error(status_of(error), error.message)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = _MESSAGES.get(status) or error.description or error.name
        if status == 413:
            message = body_too_large(app.config["MAX_BODY_BYTES"])
        response = json_error(status, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(SQLAlchemyError)
    def _store_error(error: SQLAlchemyError) -> Response:
        # A store failure no use case mapped (refused, read-only, timed out). The
        # log names the error and where it was raised, not its message: a
        # database's message may quote the values of a row (an email).
        origin = getattr(error, "orig", None)
        log.error(
            "store error in %s %s [request_id=%s]: %s%s\n%s",
            request.method,
            request.path,
            g.get("request_id"),
            type(error).__name__,
            f" ({type(origin).__name__})" if origin is not None else "",
            "".join(traceback.format_tb(error.__traceback__)),
        )
        return json_error(503, STORE_UNAVAILABLE)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception(
            "unhandled error in %s %s [request_id=%s]",
            request.method,
            request.path,
            g.get("request_id"),
        )
        return json_error(500, INTERNAL_ERROR)


def register_request_ids(app: Flask) -> None:
    """Every Flask-served response carries a request id that the logs name too."""

    @app.before_request
    def _assign() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))

    @app.after_request
    def _echo(response: Response) -> Response:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response
