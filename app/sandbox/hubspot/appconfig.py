"""The public app as registered with the emulated HubSpot: credentials, redirect
URLs and required scopes, checked the way HubSpot checks an app's Auth settings."""

import ipaddress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_REDIRECT_URL = "http://localhost:8082/hubspot/oauth/callback"
DEFAULT_SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.contacts.read",
    "crm.schemas.contacts.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
]
MAX_REDIRECT_URLS = 20


def check_redirect_url(url: str) -> str:
    """A redirect URL HubSpot accepts: HTTPS, or http://localhost for testing, and
    never an IP address (HubSpot's OAuth documentation)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(f"redirect URLs may not use an IP address: {url}")
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and host == "localhost":
        return url
    raise ValueError(f"redirect URLs must be https (or http://localhost): {url}")


@dataclass
class AppConfig:
    """Client id and secret, app id, redirect URLs and required scopes.

    HubSpot has required at least one redirect URL since 2023, so an app without
    one cannot be installed.
    """

    client_id: str = "conturs-sandbox-client"
    client_secret: str = "conturs-sandbox-secret"
    app_id: int = 4242001
    redirect_urls: list[str] = field(default_factory=lambda: [DEFAULT_REDIRECT_URL])
    required_scopes: list[str] = field(default_factory=lambda: ["oauth"])

    def __post_init__(self) -> None:
        self.set_redirect_urls(self.redirect_urls)

    def set_redirect_urls(self, urls: list[str]) -> None:
        """Replace the redirect URLs after checking each one."""
        if not isinstance(urls, list) or len(urls) > MAX_REDIRECT_URLS:
            raise ValueError(f"redirect_urls must be a list of ≤ {MAX_REDIRECT_URLS}")
        self.redirect_urls = [check_redirect_url(url) for url in urls]

    def describe(self) -> dict:
        """The settings a developer sees on the app's Auth tab."""
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "app_id": self.app_id,
            "redirect_urls": list(self.redirect_urls),
            "required_scopes": list(self.required_scopes),
        }
