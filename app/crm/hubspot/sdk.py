"""One account's hubspot-api-client 12 APIs, and the single way the adapter
calls them: with the current access token and a timeout, each attempt paced by
the portal's call budget ("search" bucket for searches, "api" for the rest), SDK
failures turned into our errors, 429/5xx/timeouts retried by the retry policy,
and one refresh-and-retry when the token is refused.

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

from app.crm.base import AccessTokens
from app.crm.failures import with_refresh
from app.crm.hubspot import errors
from app.crm.hubspot.config import API_BUCKET, SEARCH_BUCKET
from app.crm.retry import OnCall, Pacer, RetryPolicy

T = TypeVar("T")

# One SDK call = one HTTP attempt: no urllib3 retries (they skip POSTs and bypass
# our pacing) and no redirects followed. `RetryPolicy` retries.
NO_RETRIES = Retry(total=False, redirect=False)
SEARCH_METHODS = {"do_search"}


class AccountApis:
    """The SDK APIs of one account, pointed at `api_base_url`."""

    def __init__(
        self,
        tokens: AccessTokens,
        api_base_url: str,
        timeout: float,
        *,
        pacer: Pacer,
        retry: RetryPolicy,
        on_call: OnCall | None = None,
    ) -> None:
        self._tokens = tokens
        self._timeout = timeout
        self._pacer = pacer
        self._retry = retry
        self._on_call = on_call
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
        """A cached SDK API: contacts_batch, contacts_basic, contacts_search,
        companies_batch, companies_basic, companies_search, deals_basic,
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
            "contacts_search": lambda: crm.contacts.search_api,
            "companies_batch": lambda: crm.companies.batch_api,
            "companies_basic": lambda: crm.companies.basic_api,
            "companies_search": lambda: crm.companies.search_api,
            "deals_basic": lambda: crm.deals.basic_api,
            "properties_core": lambda: crm.properties.core_api,
            "properties_groups": lambda: crm.properties.groups_api,
            "pipelines": lambda: crm.pipelines.pipelines_api,
        }
        return builders[name]()

    def call(self, name: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call `api(name).method(...)` authorised, paced and retried, with one
        refresh on 401.

        Returns the SDK's answer with its HTTP status: `(data, status)`.
        """
        api = self.api(name)
        bucket = SEARCH_BUCKET if method in SEARCH_METHODS else API_BUCKET

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

        return self.run(attempt, bucket)

    def run(self, attempt: Callable[[str], T], bucket: str = API_BUCKET) -> T:
        """`attempt(token)` for an HTTP call of this portal the SDK does not
        make: paced, retried, and refreshed once on AuthExpired."""

        def retried(token: str) -> T:
            return self._retry.run(
                lambda: attempt(token),
                pacer=self._pacer,
                bucket=bucket,
                on_call=self._on_call,
            )

        return with_refresh(self._tokens, retried)

    def close(self) -> None:
        """Release the connection pools."""
        with self._lock:
            for api in self._apis.values():
                api.api_client.rest_client.pool_manager.clear()
            self._apis.clear()


def _bearer(token: str) -> dict[str, str]:
    return {
        "in": "header",
        "key": "Authorization",
        "value": f"Bearer {token}",
        "type": "oauth2",
    }
