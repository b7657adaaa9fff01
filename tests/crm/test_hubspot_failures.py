"""How the HubSpot adapter meets refused tokens, missing scopes and uninstalls:
our errors and one refresh-and-retry. Rate limits, outages and timeouts, which
are retried, are in test_hubspot_retries.py."""

import pytest

from app.crm.base import AccessRevoked, RecordRef, ScopeMissing
from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.config import REQUIRED_SCOPES
from tests.crm.helpers import HUB_ID, KeptTokens, tokens_from

READS = "POST /crm/v3/objects/contacts/batch/read"


def one_contact(hubspot) -> list[RecordRef]:
    return [RecordRef("contacts", hubspot.act.create_contact(HUB_ID, firstname="A"))]


def test_expired_access_token_is_refreshed_once_and_the_call_retried(
    hubspot, account, kept
):
    refs = one_contact(hubspot)
    stale = kept.current()
    hubspot.expire_access_tokens(HUB_ID)

    [contact] = account.read_contacts(refs)

    assert contact.lead["first_name"] == "A"
    assert kept.refreshes == 1 and kept.current() != stale
    assert hubspot.token_calls(HUB_ID)["refresh_token"] == 1
    # HubSpot counts only authenticated calls: the refused one is not there.
    assert hubspot.calls(HUB_ID)[READS] == 1
    account.read_contacts(refs)
    assert kept.refreshes == 1


def test_uninstalled_portal_raises_access_revoked(hubspot, account, kept):
    refs = one_contact(hubspot)
    hubspot.uninstall(HUB_ID)
    with pytest.raises(AccessRevoked):
        account.read_contacts(refs)
    assert hubspot.token_calls(HUB_ID)["refresh_token"] == 1


class RefusedAfterRefresh(KeptTokens):
    """A portal whose tokens are refused even right after a refresh."""

    def __init__(self, hubspot, *args) -> None:
        super().__init__(*args)
        self.hubspot = hubspot

    def refreshed(self, stale: str) -> str:
        token = super().refreshed(stale)
        self.hubspot.expire_access_tokens(HUB_ID)
        return token


def test_refused_again_after_a_refresh_is_access_revoked(hubspot, config):
    minted = hubspot.mint_tokens(HUB_ID, scopes=list(REQUIRED_SCOPES))
    kept = RefusedAfterRefresh(hubspot, config, tokens_from(minted))
    account = HubSpotAccount(config, kept)
    refs = one_contact(hubspot)
    hubspot.expire_access_tokens(HUB_ID)
    try:
        with pytest.raises(AccessRevoked):
            account.read_contacts(refs)
    finally:
        account.close()
    assert kept.refreshes == 1
    assert hubspot.token_calls(HUB_ID)["refresh_token"] == 1


def test_missing_scope_is_named(hubspot, config):
    without_deals = [s for s in REQUIRED_SCOPES if s != "crm.objects.deals.read"]
    minted = hubspot.mint_tokens(HUB_ID, scopes=without_deals)
    account = HubSpotAccount(config, KeptTokens(config, tokens_from(minted)))
    deal = hubspot.act.create_deal(HUB_ID, dealstage="closedwon")
    try:
        with pytest.raises(ScopeMissing) as missing:
            account.read_deal(deal)
    finally:
        account.close()
    assert "crm.objects.deals.read" in missing.value.scopes
    assert not missing.value.retryable


def test_uninstall_removes_the_app_and_a_second_one_is_harmless(hubspot, account, kept):
    account.uninstall()

    assert hubspot.calls(HUB_ID)["DELETE /appinstalls/2026-03/external-install"] == 1
    with pytest.raises(AccessRevoked):
        account.read_contacts(one_contact(hubspot))
    account.uninstall()
