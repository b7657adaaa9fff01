"""Fixtures for the CRM adapter tests: a started HubSpot emulation with our app
registered, the adapter's config pointed at it, and installed accounts whose
tokens are kept (and refreshed through our OAuth code) like the services do.

The `clocked_*` fixtures run the emulation, our limiter and our retries on one
manual clock that moves only when our side waits, so rate-limit windows and
backoff are exercised in full without sleeping."""

from collections.abc import Iterator
from dataclasses import replace

import pytest

from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.config import (
    CALL_RETRY,
    OAUTH_RETRY,
    OPTIONAL_SCOPES,
    RATES,
    REQUIRED_SCOPES,
    HubSpotConfig,
)
from app.crm.ratelimit import RateLimiter
from app.sandbox import HubSpotSandbox
from app.sandbox.clock import Clock, ManualClock
from app.sandbox.hubspot.appconfig import AppConfig
from tests.crm.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    HUB_ID,
    REDIRECT,
    KeptTokens,
    tokens_from,
)


def started_sandbox(clock: Clock | None = None) -> HubSpotSandbox:
    """The emulated HubSpot with our app and its required scopes registered."""
    sandbox = HubSpotSandbox(
        app_config=AppConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_urls=[REDIRECT],
            required_scopes=list(REQUIRED_SCOPES),
        ),
        clock=clock,
    )
    sandbox.start()
    return sandbox


def config_for(sandbox: HubSpotSandbox) -> HubSpotConfig:
    """The adapter's settings, every URL on the emulation."""
    return HubSpotConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT,
        api_base_url=sandbox.base_url,
        authorize_url=f"{sandbox.base_url}/oauth/authorize",
        app_id="4242001",
        timeout_seconds=5.0,
    )


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    """The emulated HubSpot on real time."""
    sandbox = started_sandbox()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def config(hubspot: HubSpotSandbox) -> HubSpotConfig:
    """The adapter's settings for `hubspot`."""
    return config_for(hubspot)


@pytest.fixture
def clock() -> ManualClock:
    """Time that passes only when our limiter or retries wait."""
    return ManualClock()


@pytest.fixture
def clocked_hubspot(clock: ManualClock) -> Iterator[HubSpotSandbox]:
    """The emulated HubSpot (its rate limits included) on `clock`."""
    sandbox = started_sandbox(clock)
    yield sandbox
    sandbox.stop()


@pytest.fixture
def clocked_config(
    clocked_hubspot: HubSpotSandbox, clock: ManualClock
) -> HubSpotConfig:
    """Settings for `clocked_hubspot` whose retries wait on `clock`."""
    return replace(
        config_for(clocked_hubspot),
        call_retry=replace(CALL_RETRY, sleep=clock.advance, clock=clock.now),
        oauth_retry=replace(OAUTH_RETRY, sleep=clock.advance, clock=clock.now),
    )


@pytest.fixture
def clocked_limiter(clock: ManualClock) -> RateLimiter:
    """HubSpot's call budgets, counted in process on `clock`."""
    return RateLimiter(RATES, clock=clock.now, sleep=clock.advance)


@pytest.fixture
def kept(hubspot: HubSpotSandbox, config: HubSpotConfig) -> KeptTokens:
    """Tokens of account HUB_ID, installed with our required scopes."""
    minted = hubspot.mint_tokens(
        HUB_ID, scopes=list(REQUIRED_SCOPES), optional_scopes=list(OPTIONAL_SCOPES)
    )
    return KeptTokens(config, tokens_from(minted))


@pytest.fixture
def account(kept: KeptTokens, config: HubSpotConfig) -> Iterator[HubSpotAccount]:
    """The adapter for account HUB_ID."""
    adapter = HubSpotAccount(config, kept)
    yield adapter
    adapter.close()
