"""One portal's REST API, and the single way the adapter calls it: on the
portal's own base URL, with the current access token and a timeout, each attempt
paced by the portal's call budget, failures turned into our errors, 429 / 5xx /
timeouts retried by the retry policy, and one refresh-and-retry when the token
is refused.

Answers are read up to a size bound (a portal answering without end must not
fill memory), redirects are not followed (a token must never go to another
host), and every body is JSON or nothing.
"""

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests

from app.crm.base import AccessTokens, CrmUnavailable
from app.crm.failures import with_refresh
from app.crm.retry import OnCall, Pacer, RetryPolicy
from app.crm.uspacy import contract, errors
from app.crm.uspacy.config import API_BUCKET

T = TypeVar("T")

MAX_BODY_BYTES = 16 * 1024 * 1024


class PortalApi:
    """The REST API of one portal at `base_url`, reached with `tokens`."""

    def __init__(
        self,
        base_url: str,
        tokens: AccessTokens,
        timeout: float,
        *,
        pacer: Pacer | None,
        retry: RetryPolicy,
        on_call: OnCall | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._timeout = timeout
        self._pacer = pacer
        self._retry = retry
        self._on_call = on_call
        self._session = requests.Session()
        # Only what we pass: no proxies or .netrc credentials from the machine
        # to a CRM host (a token must not be replaced by someone else's).
        self._session.trust_env = False

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> Any:
        """`method path` on this portal, authorised, paced, retried and
        refreshed once on 401; the answer's JSON (None for an empty answer)."""

        def attempt(token: str) -> Any:
            return self._send(method, self.base_url + path, token, params, body)

        return self.run(attempt)

    def fetch_link(self, url: str) -> Any:
        """GET a link the portal sent us (paced and retried, no token: the link
        carries its own); ValueError for a link off the portal's host."""
        if not url.startswith(self.base_url + "/"):
            raise ValueError("the link is not on the portal's own host")
        return self._retry.run(
            lambda: self._send("GET", url, None, None, None),
            pacer=self._pacer,
            bucket=API_BUCKET,
            on_call=self._on_call,
        )

    def run(self, attempt: Callable[[str], T]) -> T:
        """`attempt(token)` paced, retried, and refreshed once on AuthExpired."""

        def retried(token: str) -> T:
            return self._retry.run(
                lambda: attempt(token),
                pacer=self._pacer,
                bucket=API_BUCKET,
                on_call=self._on_call,
            )

        return with_refresh(self._tokens, retried)

    def close(self) -> None:
        """Release the connection pool."""
        self._session.close()

    def _send(
        self,
        method: str,
        url: str,
        token: str | None,
        params: Mapping[str, Any] | None,
        body: Any,
    ) -> Any:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            with self._session.request(
                method,
                url,
                params=params,
                json=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            ) as answer:
                raw = answer.raw.read(MAX_BODY_BYTES + 1, decode_content=True)
                status, answer_headers = answer.status_code, answer.headers
        except errors.TRANSPORT_ERRORS as failure:
            raise errors.from_transport(failure) from None
        if not 200 <= status < 300:
            raise errors.from_status(
                status, raw[: errors.MAX_ERROR_BODY_BYTES], answer_headers
            )
        if len(raw) > MAX_BODY_BYTES:
            raise CrmUnavailable(f"{status}: Uspacy's answer is too large to read")
        if not raw.strip():
            return None
        parsed = errors.parse_body(raw)
        if parsed is None:
            raise CrmUnavailable(f"{status}: Uspacy sent an unreadable answer")
        return parsed


def unwrapped(answer: Any) -> dict[str, Any]:
    """One object, bare or in a `{data: {...}}` wrapper (contract.WRAPPER_KEY);
    CrmUnavailable when the answer is no object."""
    if isinstance(answer, dict) and isinstance(answer.get(contract.WRAPPER_KEY), dict):
        return answer[contract.WRAPPER_KEY]
    if not isinstance(answer, dict):
        raise CrmUnavailable("Uspacy sent no object where one was expected")
    return answer
