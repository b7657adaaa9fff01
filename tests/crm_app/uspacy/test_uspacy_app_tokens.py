"""Keeping a portal's tokens valid: the periodic job refreshes tokens expiring
within the hour (traffic or not) and stores the rotated refresh token; Uspacy
refusing a refresh (401, or 403 "tariff exceeded") marks the portal as needing a
reinstall and stops its calls; a failing Uspacy is retried and changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.container import services_of
from app.crm.base import AccessRevoked
from app.models import CrmAccount
from app.models.base import utcnow
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy


def _expiring_in(served: ServedUspacy, pk: int, delta: timedelta) -> None:
    """The stored token expires `delta` from now (as a day-old install's would)."""
    with services_of(served.app).sessions.begin() as session:
        session.execute(
            update(CrmAccount)
            .where(CrmAccount.id == pk)
            .values(token_expires_at=utcnow() + delta)
        )
    served.uspacy.tokens.forget(pk)


def _run_periodic(served: ServedUspacy, name: str) -> None:
    """The worker's scheduler at a half hour: run the task if it is due."""
    huey = services_of(served.app).tasks.huey
    due = huey.read_periodic(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    (task,) = [t for t in due if t.name == name]
    huey.execute(task)


def test_periodic_job_refreshes_a_token_expiring_within_the_hour(
    served: ServedUspacy,
) -> None:
    pk = served.install()
    access, refresh = served.opened(pk)

    _run_periodic(served, "uspacy_refresh_tokens")
    assert served.opened(pk) == (access, refresh)  # a day left: nothing to do

    _expiring_in(served, pk, timedelta(minutes=40))
    _run_periodic(served, "uspacy_refresh_tokens")
    new_access, new_refresh = served.opened(pk)
    assert new_access != access and new_refresh != refresh
    tokens = served.sandbox.tokens
    # Rotated: the stored refresh token is the live one, the old one is dead.
    assert new_refresh in tokens.refresh and refresh not in tokens.refresh
    assert tokens.portal_of(new_access) == DOMAIN
    account = served.account()
    assert account.token_expires_at > utcnow() + timedelta(hours=23)
    assert account.status == "installed"
    # The next run finds nothing due.
    assert served.uspacy.refresh_expiring() == []


def test_a_call_refreshes_a_token_about_to_expire_first(served: ServedUspacy) -> None:
    pk = served.install()
    _, refresh = served.opened(pk)
    _expiring_in(served, pk, timedelta(minutes=2))  # within the margin of a call
    crm = served.uspacy.client(pk)
    try:
        assert crm.app_user_id() is not None
    finally:
        crm.close()
    access, rotated = served.opened(pk)
    assert rotated != refresh and rotated in served.sandbox.tokens.refresh
    assert served.sandbox.tokens.portal_of(access) == DOMAIN


@pytest.mark.parametrize("refusal", ["401", "403 tariff"])
def test_refused_refresh_marks_the_portal_for_reinstall(
    served: ServedUspacy, refusal: str
) -> None:
    pk = served.install()
    # The webhook's handshake calls Uspacy too: let it land before counting.
    assert served.sandbox.webhooks.wait_idle(5)
    _, refresh = served.opened(pk)
    if refusal == "401":
        served.sandbox.tokens.refresh.pop(refresh)  # Uspacy no longer knows it
    else:
        served.sandbox.knobs(DOMAIN, tariff_exceeded=True)
    _expiring_in(served, pk, timedelta(minutes=30))

    assert served.uspacy.refresh_expiring() == []
    account = served.account()
    assert account.status == "needs_reinstall"
    assert account.access_token is None and account.refresh_token is None
    assert "install the app" in (account.last_error or "")
    assert served.uspacy.installed_pks() == []
    # Calls stop: none reaches Uspacy any more.
    before = served.sandbox.calls(DOMAIN)
    with pytest.raises(AccessRevoked):
        served.uspacy.tokens.of(pk).current()
    assert served.sandbox.calls(DOMAIN) == before
    assert served.uspacy.refresh_expiring() == []
    # Installing again brings the portal back, on the same account.
    served.sandbox.knobs(DOMAIN, tariff_exceeded=False)
    assert served.install() == pk
    assert served.account().status == "installed"


def test_failing_uspacy_is_retried_and_changes_nothing(served: ServedUspacy) -> None:
    pk = served.install()
    stored = served.opened(pk)
    served.sandbox.faults(DOMAIN, error_rate=1.0)
    _expiring_in(served, pk, timedelta(minutes=30))

    # Retried with backoff (the adapter's refresh policy), then left for the
    # next run: the stored pair is still the live one.
    assert served.uspacy.refresh_expiring() == []
    assert served.opened(pk) == stored
    assert stored[1] in served.sandbox.tokens.refresh
    assert served.account().status == "installed"

    served.sandbox.faults(DOMAIN, error_rate=0.0)
    assert served.uspacy.refresh_expiring() == [DOMAIN]
    assert served.opened(pk)[1] != stored[1]
