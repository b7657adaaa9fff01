"""Installing the Uspacy app end to end, over real HTTP: the marketplace posts
the portal's tokens with a signed JWT, the tokens are stored sealed, our fields
appear on leads and contacts once, the webhook is registered once, the backfill
is queued, and a second install updates the tokens."""

import dataclasses
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import event, select

from app.container import services_of
from app.crm.retry import RetryPolicy
from app.crm.uspacy.field_specs import FIELD_SPECS
from app.models import Client, CrmAccount
from app.models.sync import CrmSync
from app.services.crm.uspacy_setup import SETUP_RETRY_AFTER
from app.services.errors import InvalidInput
from tests.crm_app.uspacy.conftest import DOMAIN, OTHER_DOMAIN, ServedUspacy

OUR_CODES = {spec.code for spec in FIELD_SPECS}


def _field_codes(served: ServedUspacy, kind: str, domain: str = DOMAIN) -> set[str]:
    with served.sandbox.store.lock:
        fields = served.sandbox.store.portals[domain].fields[kind]
        return {code for code in fields if code.startswith("conturs_")}


def _creations(served: ServedUspacy, domain: str = DOMAIN) -> int:
    calls = served.sandbox.calls(domain)
    return sum(
        n for call, n in calls.items() if call.startswith("POST") and "fields" in call
    )


def _queued(served: ServedUspacy) -> list[tuple[str, dict]]:
    huey = services_of(served.app).tasks.huey
    return [(task.name, dict(task.kwargs or {})) for task in huey.pending()]


def test_install_stores_sealed_tokens_fields_webhook_and_queues_backfill(
    served: ServedUspacy,
) -> None:
    pk = served.install()

    account = served.account()
    assert account.status == "installed"
    access, refresh = served.opened(pk)
    # Sealed at rest: the row holds neither token in the clear.
    assert access not in account.access_token and refresh not in account.refresh_token
    assert served.sandbox.tokens.portal_of(access) == DOMAIN
    assert refresh in served.sandbox.tokens.refresh
    assert account.token_expires_at is not None
    with services_of(served.app).sessions() as session:
        assert session.get(Client, account.client_id) is not None
        state = session.get(CrmSync, pk)
        assert state is not None and state.backfill_finished_at is None

    for kind in ("leads", "contacts"):
        assert _field_codes(served, kind) == OUR_CODES
        assert set(account.field_codes[kind].values()) == OUR_CODES
    webhooks = list(served.sandbox.store.portals[DOMAIN].webhooks.values())
    assert len(webhooks) == 1
    assert webhooks[0]["url"].startswith(f"{served.base_url}/uspacy/v1/webhooks/")
    assert account.webhook_status in ("registered", "confirmed")
    # The key is in the URL, never stored in the clear.
    key = webhooks[0]["url"].rpartition("/")[2]
    assert len(key) >= 40 and key not in (account.webhook_key or "")
    assert served.uspacy.account_by_webhook_key(key) == pk
    assert served.uspacy.account_by_webhook_key(key + "x") is None
    assert ("uspacy_backfill_account", {"account_pk": pk}) in _queued(served)


def test_second_install_updates_tokens_and_creates_nothing(
    served: ServedUspacy,
) -> None:
    pk = served.install()
    first = served.opened(pk)
    client_id = served.account().client_id
    created = _creations(served)
    assert created == 2 * len(FIELD_SPECS)

    assert served.install() == pk
    second = served.opened(pk)
    assert second[0] != first[0] and second[1] != first[1]
    assert served.account().client_id == client_id  # learning resumes
    assert _creations(served) == created
    assert len(served.sandbox.store.portals[DOMAIN].webhooks) == 1
    assert len(served.accounts()) == 1


def test_two_portals_keep_separate_accounts_and_tokens(served: ServedUspacy) -> None:
    acme, globex = served.install(DOMAIN), served.install(OTHER_DOMAIN)
    assert acme != globex
    accounts = {a.account_id: a for a in served.accounts()}
    assert set(accounts) == {DOMAIN, OTHER_DOMAIN}
    assert accounts[DOMAIN].client_id != accounts[OTHER_DOMAIN].client_id
    assert accounts[DOMAIN].webhook_key_hash != accounts[OTHER_DOMAIN].webhook_key_hash
    tokens = served.sandbox.tokens
    assert tokens.portal_of(served.opened(acme)[0]) == DOMAIN
    assert tokens.portal_of(served.opened(globex)[0]) == OTHER_DOMAIN
    assert _field_codes(served, "leads", OTHER_DOMAIN) == OUR_CODES

    # One portal leaving leaves the other untouched.
    assert served.sandbox.uninstall(DOMAIN).status_code == 204
    assert served.account(DOMAIN).status == "uninstalled"
    assert served.account(OTHER_DOMAIN).status == "installed"
    assert served.uspacy.installed_pks() == [globex]
    assert tokens.portal_of(served.opened(globex)[0]) == OTHER_DOMAIN


def test_webhook_refused_install_succeeds_and_settings_show_the_url(
    served: ServedUspacy,
) -> None:
    served.sandbox.create_portal(DOMAIN)
    served.sandbox.knobs(DOMAIN, non_admin=True)
    pk = served.install()

    account = served.account()
    assert account.status == "installed" and account.webhook_status == "needs_admin"
    assert served.sandbox.store.portals[DOMAIN].webhooks == {}
    assert _field_codes(served, "contacts") == OUR_CODES
    assert ("uspacy_backfill_account", {"account_pk": pk}) in _queued(served)
    url = served.uspacy.describe(DOMAIN)["webhook_url"]
    assert url.startswith(f"{served.base_url}/uspacy/v1/webhooks/")

    # The settings page, opened with the portal's integration token.
    page = requests.get(
        f"{served.base_url}/uspacy/v1/settings",
        headers={"Authorization": f"Bearer {served.sandbox.integration_token(DOMAIN)}"},
        timeout=10,
    )
    assert page.status_code == 200, page.text
    assert url in page.text and "Automation" in page.text
    assert "updateStage" in page.text

    # ... or with a user's own token, which the portal vouches for.
    user = served.sandbox.mint_tokens(DOMAIN)["jwt"]
    by_user = requests.post(
        f"{served.base_url}/uspacy/v1/settings", data={"token": user}, timeout=10
    )
    assert by_user.status_code == 200 and url in by_user.text


def test_settings_page_refuses_tokens_that_prove_nothing(served: ServedUspacy) -> None:
    served.install()
    page = f"{served.base_url}/uspacy/v1/settings"
    assert requests.get(page, timeout=10).status_code == 401
    forged = served.sandbox.install_jwt(DOMAIN, secret="x" * 40)
    refused = requests.get(
        page, headers={"Authorization": f"Bearer {forged}"}, timeout=10
    )
    assert refused.status_code == 401
    # A user token of a portal without the app is never checked with anyone.
    stranger = served.sandbox.mint_tokens(OTHER_DOMAIN)["jwt"]
    calls_before = served.sandbox.calls(OTHER_DOMAIN)
    answer = requests.get(
        page, headers={"Authorization": f"Bearer {stranger}"}, timeout=10
    )
    assert answer.status_code == 401
    assert served.sandbox.calls(OTHER_DOMAIN) == calls_before
    with services_of(served.app).sessions() as session:
        assert session.scalars(select(Client.id)).all()  # nothing was purged


def test_the_webhook_is_confirmed_through_its_validation_link(
    served: ServedUspacy,
) -> None:
    pk = served.install()
    assert served.sandbox.webhooks.wait_idle(5)
    (sent,) = [d for d in served.sandbox.deliveries() if d["domain"] == DOMAIN]
    link = sent["body"]["validation_link"]
    key = sent["url"].rpartition("/")[2]
    assert served.uspacy.account_by_webhook_key(key) == pk

    with pytest.raises(InvalidInput):
        served.uspacy.confirm_webhook(pk, "https://evil.example.com/confirm?token=x")
    served.uspacy.confirm_webhook(pk, link)
    (webhook,) = served.sandbox.store.portals[DOMAIN].webhooks.values()
    assert webhook["confirmed"] is True
    assert served.account().webhook_status == "confirmed"
    # A later install finds it confirmed and keeps it.
    served.install()
    assert served.account().webhook_status == "confirmed"
    assert len(served.sandbox.store.portals[DOMAIN].webhooks) == 1


def test_a_handshake_landing_while_setup_finishes_stays_confirmed(
    served: ServedUspacy,
) -> None:
    """The webhook is re-created (Uspacy lost it); its handshake commits just
    before setup writes what it found: setup must not undo the confirmation."""
    pk = served.install()
    assert served.sandbox.webhooks.wait_idle(5)
    with served.sandbox.store.lock:
        served.sandbox.store.portals[DOMAIN].webhooks.clear()
    with services_of(served.app).sessions.begin() as session:
        session.get(CrmAccount, pk).webhook_status = "registered"

    setup_thread = threading.get_ident()
    waited = []

    def handshake_first(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if (
            threading.get_ident() == setup_thread
            and not waited
            and statement.lstrip().upper().startswith("UPDATE CRM_ACCOUNTS")
        ):
            waited.append(served.sandbox.webhooks.wait_idle(10))

    engine = services_of(served.app).engine
    event.listen(engine, "before_cursor_execute", handshake_first)
    try:
        served.uspacy.setup(pk)
    finally:
        event.remove(engine, "before_cursor_execute", handshake_first)
    assert waited == [True]
    (webhook,) = served.sandbox.store.portals[DOMAIN].webhooks.values()
    assert webhook["confirmed"] is True
    assert served.account().webhook_status == "confirmed"


def test_the_install_answers_at_once_and_a_failed_setup_is_retried(
    served: ServedUspacy,
) -> None:
    served.sandbox.create_portal(DOMAIN)
    served.sandbox.faults(DOMAIN, error_rate=1.0)
    # The callback makes no call to Uspacy: it answers whatever Uspacy does.
    pk = served.install(set_up=False)
    assert served.sandbox.calls(DOMAIN) == {}
    setup = ("uspacy_setup_account", {"account_pk": pk})
    assert _queued(served) == [setup]

    # The worker's setup fails (one attempt per call here, to be quick).
    uspacy = served.uspacy
    uspacy.config = dataclasses.replace(uspacy.config, call_retry=RetryPolicy(1))
    assert served.run_queued(setup[0]) == 1
    account = served.account()
    assert not account.field_codes and account.webhook_status is None
    assert "fields failed" in (account.last_error or "")
    # No backfill without our fields: nothing would take its scores.
    assert _queued(served) == []
    assert pk not in uspacy.unfinished_backfills()
    # The sweep retries it once the install's own setup has had its time.
    assert setup not in list(uspacy.pending_work())
    with services_of(served.app).sessions.begin() as session:
        account = session.get(CrmAccount, pk)
        account.installed_at -= SETUP_RETRY_AFTER + timedelta(seconds=1)
    assert setup in list(uspacy.pending_work())

    # Uspacy answers again: the sweep's setup task finishes the job.
    served.sandbox.faults(DOMAIN, error_rate=0.0)
    services_of(served.app).tasks.enqueue(setup[0], **setup[1])
    assert served.run_queued(setup[0]) == 1
    account = served.account()
    assert account.field_codes and account.webhook_status in ("registered", "confirmed")
    assert account.last_error is None
    assert (
        _field_codes(served, "leads") == _field_codes(served, "contacts") == OUR_CODES
    )
    assert _queued(served) == [("uspacy_backfill_account", {"account_pk": pk})]
    assert pk in uspacy.unfinished_backfills()
    assert setup not in list(uspacy.pending_work())
