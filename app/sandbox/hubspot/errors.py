"""HubSpot's error bodies, shaped the way the real API sends them
(HubSpot's API documentation)."""

import json
import uuid
from typing import Any

from flask import Response, jsonify

from app.sandbox.hubspot.values import InvalidValue


def correlation_id() -> str:
    """A fresh correlation id, as every HubSpot error carries one."""
    return str(uuid.uuid4())


def error(status: int, message: str, category: str, **extra: Any) -> Response:
    """The standard `{status:"error", message, correlationId, category}` body."""
    body = {
        "status": "error",
        "message": message,
        "correlationId": correlation_id(),
        "category": category,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    return response


def validation_error(message: str, **extra: Any) -> Response:
    """400 `VALIDATION_ERROR`, e.g. for a malformed request."""
    return error(400, message, "VALIDATION_ERROR", **extra)


def invalid_values(problems: list[InvalidValue]) -> Response:
    """400 for rejected property values; HubSpot embeds the details as JSON text."""
    details = json.dumps(
        [problem.as_detail() for problem in problems], separators=(",", ":")
    )
    return validation_error(f"Property values were not valid: {details}")


def not_found(object_id: str | None = None) -> Response:
    """404 `OBJECT_NOT_FOUND` with HubSpot's empty-message quirk."""
    return (
        error(404, "", "OBJECT_NOT_FOUND")
        if object_id is None
        else error(
            404,
            "Object not found.  objectId are usually numeric.",
            "OBJECT_NOT_FOUND",
            context={"id": [str(object_id)]},
        )
    )


def invalid_authentication() -> Response:
    """401 for a missing, unknown or revoked token."""
    return error(
        401,
        "Authentication credentials not found. This API supports OAuth 2.0 "
        "authentication and you can find more details at "
        "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
        "INVALID_AUTHENTICATION",
    )


def expired_authentication(minutes: int) -> Response:
    """401 for an expired access token."""
    return error(
        401,
        f"The OAuth token used to make this call expired {minutes} minute(s) ago.",
        "EXPIRED_AUTHENTICATION",
    )


def missing_scopes(required: list[str]) -> Response:
    """403 `MISSING_SCOPES`."""
    return error(
        403,
        "This app hasn't been granted all required scopes to make this call. Read "
        "more about required scopes here: https://developers.hubspot.com/scopes.",
        "MISSING_SCOPES",
        errors=[
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": required},
            }
        ],
        links={"scopes": "https://developers.hubspot.com/scopes"},
    )


def rate_limited(policy: str, group: str) -> Response:
    """429 with HubSpot's `RATE_LIMIT` body (ten-secondly or search secondly)."""
    message = (
        "You have reached your ten_secondly_rolling limit."
        if policy == "TEN_SECONDLY_ROLLING"
        else "You have reached your secondly limit."
    )
    response = jsonify(
        {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id(),
            "policyName": policy,
            "requestId": str(uuid.uuid4()),
            "groupName": group,
        }
    )
    response.status_code = 429
    return response


def oauth_error(
    dated: bool, status: str, message: str, error: str, code: int = 400
) -> Response:
    """An OAuth error: RFC 6749 `error`/`error_description` plus the legacy
    `status` (e.g. BAD_REFRESH_TOKEN) and `message`. The v3 and date-versioned
    endpoints add `category` and a string `subCategory`; their values are
    unpublished, so these are guesses in HubSpot's style."""
    body: dict[str, Any] = {
        "status": status,
        "message": message,
        "correlationId": correlation_id(),
        "error": error,
        "error_description": message,
    }
    if dated:
        body["category"] = (
            "INVALID_AUTHENTICATION"
            if error == "invalid_client"
            else "VALIDATION_ERROR"
        )
        body["subCategory"] = f"oauth.{status}"
    response = jsonify(body)
    response.status_code = code
    return response
