"""The HubSpot app's settings as the adapter needs them: credentials, redirect
URL, hosts, scopes and the timeout of every call. Built by the app's config from
the environment; nothing here reads it."""

from dataclasses import dataclass

from app.crm.hubspot import paths

# What the app cannot work without: read and write contacts, create our contact
# properties, and read deals (and their pipelines) for outcomes.
REQUIRED_SCOPES = (
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.write",
    "crm.objects.deals.read",
)
# Granted only where the portal has the tool; HubSpot drops it silently otherwise.
OPTIONAL_SCOPES = ("crm.objects.companies.read",)
DEFAULT_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class HubSpotConfig:
    """One public app registered with HubSpot."""

    client_id: str
    client_secret: str
    redirect_uri: str
    api_base_url: str = paths.API_BASE_URL
    authorize_url: str = paths.AUTHORIZE_URL
    app_id: str | None = None
    required_scopes: tuple[str, ...] = REQUIRED_SCOPES
    optional_scopes: tuple[str, ...] = OPTIONAL_SCOPES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret or not self.redirect_uri:
            raise ValueError("client_id, client_secret and redirect_uri are required")
        if not 0 < self.timeout_seconds <= 120:
            raise ValueError("timeout_seconds must be between 0 and 120")
        # Paths are appended to the base URL; a trailing slash would double it.
        object.__setattr__(self, "api_base_url", self.api_base_url.rstrip("/"))

    def __repr__(self) -> str:
        return (
            f"HubSpotConfig(client_id={self.client_id!r}, "
            f"api_base_url={self.api_base_url!r}, app_id={self.app_id!r})"
        )

    def url(self, path: str) -> str:
        """The absolute URL of an API path."""
        return f"{self.api_base_url}{path}"
