"""Every error leaves as JSON {"error": "..."}, never as an HTML page or a bare 500."""

import logging

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger(__name__)

_MESSAGES = {
    404: "Not found",
    405: "Method not allowed",
    413: "Request body too large",
}


def json_error(status: int, message: str) -> Response:
    """A JSON error response."""
    return Response(
        orjson.dumps({"error": message}), status=status, mimetype="application/json"
    )


def register_error_handlers(app: Flask) -> None:
    """Turn Werkzeug's HTML errors and unexpected exceptions into JSON."""

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = _MESSAGES.get(status) or error.description or error.name
        if status == 413:
            limit = app.config["MAX_BODY_BYTES"]
            message = f"Request body too large: the limit is {limit} bytes"
        response = json_error(status, message)
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return json_error(500, "Internal error; it has been logged")
