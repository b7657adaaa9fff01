"""The Uspacy app's settings as the adapter needs them: credentials, how a
portal's base URL is built from its domain, the timeout of every call, how calls
are retried, and Uspacy's rate limit as our limiter's bucket. Built by the app's
config from the environment; nothing here reads it."""

import re
from dataclasses import dataclass
from types import MappingProxyType

from app.crm.ratelimit import Rate
from app.crm.retry import RetryPolicy
from app.crm.uspacy import contract

# The name accounts of this CRM are stored under.
CRM = "uspacy"
DEFAULT_TIMEOUT_SECONDS = 10.0

# Per portal: a few calls under Uspacy's assumed 60 a minute, with room for calls
# that reach Uspacy later than we counted them (its window starts at its clock).
API_BUCKET = "api"
RATES = MappingProxyType(
    {API_BUCKET: Rate(contract.RATE_CALLS - 5, contract.RATE_WINDOW_SECONDS)}
)
# CRM calls: five attempts within 75 s, so a call that finds the minute's budget
# used up can wait for the next window once instead of failing the job.
CALL_RETRY = RetryPolicy(
    attempts=5,
    budget_seconds=contract.RATE_WINDOW_SECONDS + 15,
    rate_limit_wait=contract.RATE_LIMIT_WAIT_SECONDS,
)
# Token refresh: runs under the account's refresh lease (30 s), so its attempts
# (10 s timeout each) end well before that.
REFRESH_RETRY = RetryPolicy(
    attempts=3,
    budget_seconds=12.0,
    rate_limit_wait=contract.RATE_LIMIT_WAIT_SECONDS,
)

# A portal's domain is a host name: labels of letters, digits and hyphens. It
# comes from a verified install JWT, but is still checked before it becomes part
# of a URL, so no value can point a call at another host or path.
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})+")
MAX_DOMAIN_CHARS = 253


@dataclass(frozen=True, slots=True)
class UspacyConfig:
    """One marketplace app registered with Uspacy."""

    client_id: str
    client_secret: str
    base_url_template: str = contract.BASE_URL_TEMPLATE
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    call_retry: RetryPolicy = CALL_RETRY
    refresh_retry: RetryPolicy = REFRESH_RETRY

    def __post_init__(self) -> None:
        if not self.client_id or not self.client_secret:
            raise ValueError("client_id and client_secret are required")
        if not 0 < self.timeout_seconds <= 120:
            raise ValueError("timeout_seconds must be between 0 and 120")
        template = self.base_url_template.rstrip("/")
        if template.count(contract.DOMAIN_PLACEHOLDER) != 1 or not template.startswith(
            ("https://", "http://")
        ):
            raise ValueError("base_url_template must be an http(s) URL with {domain}")
        # Paths are appended to the base URL; a trailing slash would double it.
        object.__setattr__(self, "base_url_template", template)

    def __repr__(self) -> str:
        return (
            f"UspacyConfig(client_id={self.client_id!r}, "
            f"base_url_template={self.base_url_template!r})"
        )

    def base_url(self, domain: str) -> str:
        """The base URL of one portal (`https://{domain}` in production)."""
        return self.base_url_template.replace(
            contract.DOMAIN_PLACEHOLDER, checked_domain(domain)
        )


def checked_domain(domain: str) -> str:
    """A portal domain, lower-cased; ValueError when it is not a host name."""
    clean = domain.strip().lower() if isinstance(domain, str) else ""
    if len(clean) > MAX_DOMAIN_CHARS or not _DOMAIN.fullmatch(clean):
        raise ValueError("a Uspacy portal domain is a host name like acme.uspacy.ua")
    return clean
