"""Shared pieces of the Uspacy adapter tests: the portal names, the adapter's
config on the emulation, and a token keeper playing the services' part."""

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from app.crm.base import Tokens
from app.crm.ratelimit import RateLimiter
from app.crm.retry import RetryPolicy
from app.crm.uspacy import tokens as uspacy_tokens
from app.crm.uspacy.client import UspacyAccount
from app.crm.uspacy.config import CALL_RETRY, RATES, REFRESH_RETRY, UspacyConfig
from app.sandbox import UspacySandbox

DOMAIN = "acme.uspacy.ua"
OTHER_DOMAIN = "globex.uspacy.ua"
# Retries that wait milliseconds: the failure tests still see every attempt.
QUICK = dict(base_delay=0.01, max_delay=0.02)


class PortalTokens:
    """The services' side of `AccessTokens` for one portal: the stored pair,
    refreshed with our refresh call, one refresh however many callers ask."""

    def __init__(self, config: UspacyConfig, domain: str, tokens: Tokens) -> None:
        self.config = config
        self.domain = domain
        self.tokens = tokens
        self.refreshes = 0
        self.lock = threading.Lock()

    def current(self) -> str:
        return self.tokens.access_token

    def refreshed(self, stale: str) -> str:
        with self.lock:
            if self.tokens.access_token == stale:
                self.tokens = uspacy_tokens.refresh(
                    self.config, self.domain, self.tokens.refresh_token
                )
                self.refreshes += 1
            return self.tokens.access_token


def tokens_from(minted: dict[str, Any]) -> Tokens:
    """The emulation's `{jwt, refreshToken, expireInSeconds}` as our Tokens."""
    return Tokens(
        access_token=minted["jwt"],
        refresh_token=minted["refreshToken"],
        expires_at=datetime.now(UTC) + timedelta(seconds=minted["expireInSeconds"]),
        scopes=frozenset(),
    )


def config_for(sandbox: UspacySandbox, **changes: Any) -> UspacyConfig:
    """The adapter's settings, every portal on the emulation."""
    config = UspacyConfig(
        client_id=sandbox.client_id,
        client_secret=sandbox.client_secret,
        base_url_template=sandbox.base_url_template,
        timeout_seconds=5.0,
        call_retry=replace(CALL_RETRY, **QUICK),
        refresh_retry=replace(REFRESH_RETRY, **QUICK),
    )
    return replace(config, **changes)


def account_for(
    config: UspacyConfig, kept: PortalTokens, **options: Any
) -> UspacyAccount:
    """An adapter for `kept`'s portal with a budget of its own."""
    options.setdefault("limiter", RateLimiter(RATES).for_account(kept.domain))
    return UspacyAccount(config, kept.domain, kept, **options)


def once(config: UspacyConfig) -> UspacyConfig:
    """`config` with one attempt per call: what a single failure becomes."""
    return replace(
        config,
        call_retry=RetryPolicy(attempts=1),
        refresh_retry=RetryPolicy(attempts=1),
    )
