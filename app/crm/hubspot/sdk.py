"""One account's hubspot-api-client 12 APIs, and the single way the adapter
calls them: with the current access token, a timeout, one attempt, SDK failures
turned into our errors, and one refresh-and-retry when the token is refused.

The SDK builds a new API client (and connection pool) on every attribute access
such as `client.crm.contacts.batch_api`, so the few APIs used are built once per
account and reused. The token is passed on each call rather than stored in the
SDK's configuration, so concurrent calls never see another call's token.
"""

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from hubspot import HubSpot
from urllib3.util.retry import Retry

from app.crm.base import AccessRevoked, AccessTokens, AuthExpired
from app.crm.hubspot import errors

T = TypeVar("T")

# One call = one attempt: no urllib3 retries and no redirects followed. Retrying
# with backoff and rate limiting belong to the callers.
NO_RETRIES = Retry(total=False, redirect=False)


class AccountApis:
    """The SDK APIs of one account, pointed at `api_base_url`."""

    def __init__(self, tokens: AccessTokens, api_base_url: str, timeout: float):
        self._tokens = tokens
        self._timeout = timeout
        self._client = HubSpot(
            host=api_base_url,
            retry=NO_RETRIES,
            # Kept off (the SDK's default), stated because it matters: HubSpot
            # adds and drops response fields over time, and the strict model
            # checks would turn a missing "required" field into a crash.
            client_side_validation=False,
        )
        self._apis: dict[str, Any] = {}
        self._lock = threading.Lock()

    def api(self, name: str) -> Any:
        """A cached SDK API: contacts_batch, contacts_basic, deals_basic,
        properties_core, properties_groups or pipelines."""
        with self._lock:
            found = self._apis.get(name)
            if found is None:
                found = self._apis[name] = self._build(name)
            return found

    def _build(self, name: str) -> Any:
        crm = self._client.crm
        builders: dict[str, Callable[[], Any]] = {
            "contacts_batch": lambda: crm.contacts.batch_api,
            "contacts_basic": lambda: crm.contacts.basic_api,
            "deals_basic": lambda: crm.deals.basic_api,
            "properties_core": lambda: crm.properties.core_api,
            "properties_groups": lambda: crm.properties.groups_api,
            "pipelines": lambda: crm.pipelines.pipelines_api,
        }
        return builders[name]()

    def call(self, name: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `api(name).method(...)` authorised, with one refresh on 401.

        Returns the SDK's answer with its HTTP status: `(data, status)`.
        """
        api = self.api(name)

        def attempt(token: str) -> Any:
            try:
                data, status, _headers = getattr(api, f"{method}_with_http_info")(
                    *args,
                    _request_auth=_bearer(token),
                    _request_timeout=self._timeout,
                    **kwargs,
                )
            except errors.SDK_API_ERRORS as failure:
                raise errors.from_sdk(failure) from None
            except errors.TRANSPORT_ERRORS as failure:
                raise errors.from_transport(failure) from None
            return data, status

        return with_refresh(self._tokens, attempt)

    def close(self) -> None:
        """Release the connection pools."""
        with self._lock:
            for api in self._apis.values():
                api.api_client.rest_client.pool_manager.clear()
            self._apis.clear()


def with_refresh(tokens: AccessTokens, attempt: Callable[[str], T]) -> T:
    """Run `attempt(token)`; on AuthExpired refresh once and run it again; a
    second refusal means the install is gone."""
    token = tokens.current()
    try:
        return attempt(token)
    except AuthExpired:
        fresh = tokens.refreshed(token)
    try:
        return attempt(fresh)
    except AuthExpired as again:
        raise AccessRevoked(f"refused after a refresh: {again.message}") from None


def _bearer(token: str) -> dict[str, str]:
    return {
        "in": "header",
        "key": "Authorization",
        "value": f"Bearer {token}",
        "type": "oauth2",
    }
