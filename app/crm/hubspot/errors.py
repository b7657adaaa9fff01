"""HubSpot's failures as our error hierarchy: HTTP statuses and error bodies from
the SDK or `requests`, and transport failures, become `app.crm.base` errors, so
no status code or SDK exception reaches the services.

Messages are kept short and stripped of email addresses: HubSpot echoes rejected
values (e.g. "Email address x@y is invalid"), and the messages end up in logs.
"""

import json
from collections.abc import Mapping
from typing import Any

from hubspot.crm.companies.exceptions import ApiException as CompaniesApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.deals.exceptions import ApiException as DealsApiException
from hubspot.crm.pipelines.exceptions import ApiException as PipelinesApiException
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException

from app.crm.base import (
    AuthExpired,
    CrmError,
    CrmUnavailable,
    RateLimited,
    Rejected,
    ScopeMissing,
)
from app.crm.failures import (
    MAX_RETRY_AFTER,
    header,
    scrub,
    seconds_until,
)
from app.crm.failures import (
    TRANSPORT_ERRORS as TRANSPORT_ERRORS,
)

# Each generated SDK package has its own ApiException class; these are the
# packages the client uses.
SDK_API_ERRORS: tuple[type[Exception], ...] = (
    CompaniesApiException,
    ContactsApiException,
    DealsApiException,
    PipelinesApiException,
    PropertiesApiException,
)
MAX_BODY_BYTES = 64 * 1024
# How long each of HubSpot's limits named in a 429's `policyName` takes to free a
# call when no Retry-After says: the rolling ten seconds, search's second, and
# for the daily limit (not applied to OAuth apps) "not within this job".
POLICY_WAITS = {
    "TEN_SECONDLY_ROLLING": 10.0,
    "SECONDLY": 1.0,
    "DAILY": MAX_RETRY_AFTER,
}


class NotFound(Rejected):
    """The record or definition does not exist (the adapter reads it as absent)."""


class AlreadyExists(Rejected):
    """A create met an existing name (the adapter reads it as done)."""


def parse_body(body: Any) -> dict[str, Any]:
    """An error body as a dict ({} when it is not a JSON object)."""
    if isinstance(body, bytes | bytearray):
        body = bytes(body[:MAX_BODY_BYTES]).decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return {}
    try:
        found = json.loads(body[:MAX_BODY_BYTES])
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def describe(status: int, body: dict[str, Any]) -> str:
    """`STATUS CATEGORY: message`, scrubbed."""
    category = body.get("category") or body.get("errorType") or body.get("status")
    message = body.get("message") or body.get("error_description") or ""
    head = f"{status} {category}" if isinstance(category, str) else str(status)
    return scrub(f"{head}: {message}" if isinstance(message, str) else head)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), if any."""
    raw = header(headers, "retry-after")
    return None if raw is None else seconds_until(raw)


def rate_limit_wait(
    body: dict[str, Any], headers: Mapping[str, str] | None
) -> float | None:
    """Seconds a 429 asks us to wait: its Retry-After, else its policy's window."""
    stated = retry_after(headers)
    if stated is not None:
        return stated
    return POLICY_WAITS.get(str(body.get("policyName", "")).upper())


def _required_scopes(body: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    details = body.get("errors")
    for detail in details if isinstance(details, list) else []:
        context = detail.get("context") if isinstance(detail, dict) else None
        named = (
            context.get("requiredGranularScopes") if isinstance(context, dict) else None
        )
        if isinstance(named, list):
            scopes += [s for s in named[:20] if isinstance(s, str)]
    return scopes


def from_status(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> CrmError:
    """The error for a non-2xx answer of a CRM API call."""
    parsed = parse_body(body)
    text = describe(status, parsed)
    if status == 401:
        return AuthExpired(text)
    if status == 403:
        return ScopeMissing(text, _required_scopes(parsed))
    if status == 429:
        return RateLimited(text, rate_limit_wait(parsed, headers))
    if status >= 500 or status == 0:
        return CrmUnavailable(text)
    if status == 404:
        return NotFound(text)
    if status == 409:
        return AlreadyExists(text)
    return Rejected(text)


def from_sdk(error: Exception) -> CrmError:
    """The error for an SDK ApiException (status 0: TLS or request failure)."""
    status = getattr(error, "status", None)
    headers = getattr(error, "headers", None)
    return from_status(
        status if isinstance(status, int) else 0,
        getattr(error, "body", None),
        headers if isinstance(headers, Mapping) else None,
    )


def from_transport(error: Exception) -> CrmUnavailable:
    """The error for a timeout, refused connection or broken response."""
    return CrmUnavailable(f"HubSpot unreachable: {type(error).__name__}")
