"""Fixtures for the CRM adapter tests: a started HubSpot emulation with our app
registered, the adapter's config pointed at it, and installed accounts whose
tokens are kept (and refreshed through our OAuth code) like the services do."""

from collections.abc import Iterator

import pytest

from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.config import OPTIONAL_SCOPES, REQUIRED_SCOPES, HubSpotConfig
from app.sandbox import HubSpotSandbox
from app.sandbox.hubspot.appconfig import AppConfig
from tests.crm.helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    HUB_ID,
    REDIRECT,
    KeptTokens,
    tokens_from,
)


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    """The emulated HubSpot with our app and its required scopes registered."""
    sandbox = HubSpotSandbox(
        app_config=AppConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_urls=[REDIRECT],
            required_scopes=list(REQUIRED_SCOPES),
        )
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def config(hubspot: HubSpotSandbox) -> HubSpotConfig:
    """The adapter's settings, every URL on the emulation."""
    return HubSpotConfig(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        redirect_uri=REDIRECT,
        api_base_url=hubspot.base_url,
        authorize_url=f"{hubspot.base_url}/oauth/authorize",
        app_id="4242001",
        timeout_seconds=5.0,
    )


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
