"""HTTP client of a central Config API, for a self-hosted scoring service
(CONFIG_API_URL). An adapter: it speaks HTTP and JSON and returns plain data; what
to cache, store or retry is decided by the services that use it."""

import logging
from dataclasses import dataclass
from typing import Any

import requests

log = logging.getLogger(__name__)


class ConfigApiUnreachable(RuntimeError):
    """The Config API did not give a usable answer (network, 5xx, bad JSON)."""


@dataclass(frozen=True)
class Delivery:
    """How a feedback delivery went: done, refused for good, or worth retrying."""

    delivered: bool
    retry: bool
    error: str | None = None


class ConfigApiClient:
    """POST /config and POST / DELETE /feedback against one Config API."""

    def __init__(self, base_url: str, timeout: float = 3.0) -> None:
        root = base_url.rstrip("/")
        self._config_url = root + "/config"
        self._feedback_url = root + "/feedback"
        self._timeout = timeout

    def fetch_config(self, api_key: str, identity: str) -> dict[str, Any] | None:
        """The client's configuration; None when the key is refused (401/403)."""
        try:
            response = requests.post(
                self._config_url,
                json={"email": identity, "api_key": api_key},
                timeout=self._timeout,
            )
        except requests.RequestException as error:
            raise ConfigApiUnreachable(f"Config API unreachable: {error}") from None
        if response.status_code in (401, 403):
            return None
        if response.status_code != 200:
            raise ConfigApiUnreachable(f"Config API answered {response.status_code}")
        try:
            payload = response.json()
        except ValueError as error:
            raise ConfigApiUnreachable(f"Config API sent bad JSON: {error}") from None
        if not isinstance(payload, dict):
            raise ConfigApiUnreachable("Config API sent a config that is not an object")
        return payload

    def send_feedback(self, payload: dict[str, Any]) -> Delivery:
        """Deliver one feedback message."""
        return self._feedback("POST", payload)

    def remove_feedback(self, payload: dict[str, Any]) -> Delivery:
        """Deliver one removal of feedback (DELETE /feedback)."""
        return self._feedback("DELETE", payload)

    def _feedback(self, method: str, payload: dict[str, Any]) -> Delivery:
        try:
            response = requests.request(
                method, self._feedback_url, json=payload, timeout=self._timeout
            )
        except requests.RequestException as error:
            return Delivery(False, True, f"unreachable: {error}")
        status = response.status_code
        if status < 300:
            return Delivery(True, False)
        if 400 <= status < 500 and status != 429:
            # Refused for good (bad key, bad data): retrying cannot help.
            return Delivery(False, False, f"HTTP {status}: {response.text[:200]}")
        return Delivery(False, True, f"HTTP {status}")
