"""The Uspacy token refresh over HTTP on the portal's own host: a new pair whose
refresh token rotated (the old one is dead), AccessRevoked when the portal
refuses, and outages or 429s raised as retryable; and the install callback's
tokens read into ours."""

from datetime import UTC, datetime, timedelta

import jwt
import pytest

from app.crm.base import AccessRevoked, CrmUnavailable, RateLimited
from app.crm.uspacy import tokens
from tests.crm.uspacy.helpers import DOMAIN, OTHER_DOMAIN, config_for, once

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def test_refresh_rotates_the_refresh_token(uspacy, config):
    minted = uspacy.mint_tokens(DOMAIN)

    fresh = tokens.refresh(config, DOMAIN, minted["refreshToken"], now=NOW)

    assert fresh.access_token != minted["jwt"]
    assert fresh.refresh_token != minted["refreshToken"]
    assert fresh.expires_at == NOW + timedelta(seconds=86_400)
    assert fresh.scopes == frozenset()
    # The new access token works on the portal; the old refresh token is spent.
    assert uspacy.tokens.portal_of(fresh.access_token) == DOMAIN
    with pytest.raises(AccessRevoked):
        tokens.refresh(config, DOMAIN, minted["refreshToken"])
    again = tokens.refresh(config, DOMAIN, fresh.refresh_token)
    assert again.refresh_token not in (fresh.refresh_token, minted["refreshToken"])


def test_a_refresh_token_of_another_portal_is_refused(uspacy, config):
    minted = uspacy.mint_tokens(DOMAIN)
    uspacy.create_portal(OTHER_DOMAIN)
    with pytest.raises(AccessRevoked):
        tokens.refresh(config, OTHER_DOMAIN, minted["refreshToken"])


def test_a_tariff_refusal_means_the_portal_must_reinstall(uspacy, config):
    minted = uspacy.mint_tokens(DOMAIN)
    uspacy.knobs(DOMAIN, tariff_exceeded=True)
    with pytest.raises(AccessRevoked) as revoked:
        tokens.refresh(config, DOMAIN, minted["refreshToken"])
    assert "tariff is exceeded" in revoked.value.message


def test_an_outage_is_retried_then_raised_as_retryable(uspacy, config):
    minted = uspacy.mint_tokens(DOMAIN)
    uspacy.faults(DOMAIN, error_rate=1.0)
    with pytest.raises(CrmUnavailable) as failed:
        tokens.refresh(config, DOMAIN, minted["refreshToken"])
    assert failed.value.retryable
    # The refresh token was never spent: it works once the portal is back.
    uspacy.faults(DOMAIN, error_rate=0.0)
    assert tokens.refresh(config, DOMAIN, minted["refreshToken"]).access_token


def test_a_429_is_raised_with_its_retry_after(uspacy, config):
    minted = uspacy.mint_tokens(DOMAIN)
    uspacy.faults(DOMAIN, throttle_rate=1.0, retry_after=9)
    with pytest.raises(RateLimited) as limited:
        tokens.refresh(once(config), DOMAIN, minted["refreshToken"])
    assert limited.value.retry_after == 9


def test_a_network_failure_is_unavailable(uspacy):
    config = once(config_for(uspacy, base_url_template="http://127.0.0.1:9/{domain}"))
    with pytest.raises(CrmUnavailable):
        tokens.refresh(config, DOMAIN, "some-refresh-token")


def test_no_usable_refresh_token_or_domain_is_refused_before_calling(config):
    with pytest.raises(AccessRevoked):
        tokens.refresh(config, DOMAIN, "")
    for domain in ("acme.uspacy.ua/evil", "user@acme.uspacy.ua", "localhost", ""):
        with pytest.raises(ValueError):
            tokens.refresh(config, domain, "token")


def test_install_tokens_are_read_from_the_callback_body():
    expiry = int(NOW.timestamp()) + 86_400
    access = jwt.encode({"domain": DOMAIN}, "k" * 32, algorithm="HS256")

    read = tokens.install_tokens(
        {"token": access, "refresh_token": "r1", "expiry_date": expiry}
    )

    assert (read.access_token, read.refresh_token) == (access, "r1")
    assert read.expires_at == NOW + timedelta(days=1)
    for broken in (
        {"token": access, "refresh_token": "r1", "expiry_date": "tomorrow"},
        {"token": "", "refresh_token": "r1", "expiry_date": expiry},
        {"token": access, "expiry_date": expiry},
        {"token": access, "refresh_token": "r1", "expiry_date": True},
    ):
        with pytest.raises(ValueError):
            tokens.install_tokens(broken)
