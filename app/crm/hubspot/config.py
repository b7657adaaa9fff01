"""The HubSpot app's settings as the adapter needs them: credentials, redirect
URL, hosts, scopes, the timeout of every call and how calls are retried, and
HubSpot's rate limits as our limiter's buckets. Built by the app's config from
the environment; nothing here reads it."""

from dataclasses import dataclass
from types import MappingProxyType

from app.crm.hubspot import paths
from app.crm.ratelimit import Rate
from app.crm.retry import RetryPolicy

# What the app cannot work without: read and write contacts, create our contact
# properties, and read deals (and their pipelines) for outcomes.
# The name accounts of this CRM are stored under.
CRM = "hubspot"
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

# Per portal. HubSpot allows OAuth apps 110 calls per rolling 10 s and 5 searches
# per second (searches are not in the 110); we stay under both, with room for
# calls that reach HubSpot later than we counted them.
API_BUCKET = "api"
SEARCH_BUCKET = "search"
RATES = MappingProxyType({API_BUCKET: Rate(100, 10.0), SEARCH_BUCKET: Rate(4, 1.0)})
# CRM calls: five attempts in at most 30 s, so two 429 windows can be waited out.
CALL_RETRY = RetryPolicy(attempts=5, budget_seconds=30.0)
# Token calls: a refresh holds the account's refresh lease (30 s) while it runs,
# so its attempts (10 s timeout each) must be over well before that.
OAUTH_RETRY = RetryPolicy(attempts=3, budget_seconds=12.0)


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
    call_retry: RetryPolicy = CALL_RETRY
    oauth_retry: RetryPolicy = OAUTH_RETRY

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
