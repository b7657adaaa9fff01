"""Fixtures for the Uspacy adapter tests: a started Uspacy emulation that answers
only on per-portal base URLs, the adapter's config pointed at it, and an
installed portal whose tokens are kept (and refreshed through our refresh call)
like the services do.

Every adapter gets a limiter of its own, so one test's calls never use up
another's budget; retries wait a few milliseconds, not seconds."""

from collections.abc import Iterator

import pytest

from app.crm.uspacy.client import UspacyAccount
from app.crm.uspacy.config import UspacyConfig
from app.sandbox import ManualClock, UspacySandbox
from tests.crm.uspacy.helpers import (
    DOMAIN,
    PortalTokens,
    account_for,
    config_for,
    tokens_from,
)


@pytest.fixture
def clock() -> ManualClock:
    """The emulation's clock: tokens expire when it is moved."""
    return ManualClock()


@pytest.fixture
def uspacy(clock: ManualClock) -> Iterator[UspacySandbox]:
    """The emulated Uspacy; a portal is reached only on its own base URL."""
    sandbox = UspacySandbox(clock=clock, retry_delays=(0.05,))
    sandbox.start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def config(uspacy: UspacySandbox) -> UspacyConfig:
    """The adapter's settings for `uspacy`."""
    return config_for(uspacy)


@pytest.fixture
def kept(uspacy: UspacySandbox, config: UspacyConfig) -> PortalTokens:
    """Tokens of portal DOMAIN, as the install callback brought them."""
    return PortalTokens(config, DOMAIN, tokens_from(uspacy.mint_tokens(DOMAIN)))


@pytest.fixture
def account(config: UspacyConfig, kept: PortalTokens) -> Iterator[UspacyAccount]:
    """The adapter for portal DOMAIN."""
    adapter = account_for(config, kept)
    yield adapter
    adapter.close()
