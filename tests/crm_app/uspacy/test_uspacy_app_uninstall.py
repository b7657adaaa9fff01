"""Uninstalling: Uspacy calls the uninstall callback (DELETE or POST, spelled
`uninstall` or `uinstall`) with its signed JWT; every call for the portal stops
at once and its data is purged after UNINSTALL_PURGE_DAYS, as for HubSpot. A
forged uninstall changes nothing. Backfilling an installed portal scores its
records through the same adapter. Operators see Uspacy portals in `conturs
accounts`."""

import json
from datetime import timedelta

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import update

from app.cli import _Context, main
from app.container import services_of
from app.crm.base import AccessRevoked
from app.models import Client, CrmAccount
from app.models.base import utcnow
from tests.conftest import TEST_ENCRYPTION_KEY, close_app
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy

FORMS = [(p, m) for p in ("uninstall", "uinstall") for m in ("DELETE", "POST")]


@pytest.mark.parametrize(("path", "method"), FORMS)
def test_uninstall_stops_calls_and_schedules_the_purge(
    served: ServedUspacy, path: str, method: str
) -> None:
    pk = served.install()
    client_id = served.account().client_id

    answer = served.sandbox.uninstall(DOMAIN, path=path, method=method)
    assert answer.status_code == 204, answer.text
    account = served.account()
    assert account.status == "uninstalled" and account.uninstalled_at is not None
    assert account.access_token is None and account.refresh_token is None
    assert served.uspacy.installed_pks() == []
    assert served.uspacy.unfinished_backfills() == []
    before = served.sandbox.calls(DOMAIN)
    with pytest.raises(AccessRevoked):
        served.uspacy.tokens.of(pk).current()
    assert served.uspacy.refresh_expiring(timedelta(days=400)) == []
    assert served.sandbox.calls(DOMAIN) == before

    days = services_of(served.app).uninstall_purge_days
    assert served.uspacy.purge_uninstalled(days) == []  # kept for a reinstall
    with services_of(served.app).sessions.begin() as session:
        session.execute(
            update(CrmAccount)
            .where(CrmAccount.id == pk)
            .values(uninstalled_at=utcnow() - timedelta(days=days + 1))
        )
    assert served.uspacy.purge_uninstalled(days) == [DOMAIN]
    assert served.accounts() == []
    with services_of(served.app).sessions() as session:
        assert session.get(Client, client_id) is None


def test_reinstall_before_the_purge_resumes_the_account(served: ServedUspacy) -> None:
    pk = served.install()
    client_id = served.account().client_id
    assert served.sandbox.uninstall(DOMAIN).status_code == 204
    assert served.install() == pk
    account = served.account()
    assert account.status == "installed" and account.uninstalled_at is None
    assert account.client_id == client_id


def test_forged_uninstall_changes_nothing(served: ServedUspacy) -> None:
    served.install()
    forged = served.sandbox.install_jwt(DOMAIN, secret="y" * 44)
    for path in ("uninstall", "uinstall"):
        answer = requests.delete(
            f"{served.base_url}/uspacy/v1/portals/{path}",
            headers={"Authorization": f"Bearer {forged}"},
            timeout=10,
        )
        assert answer.status_code == 401
        assert answer.json()["errors"]["text"]
    assert served.account().status == "installed"


def test_uninstall_of_an_unknown_portal_is_accepted(served: ServedUspacy) -> None:
    assert served.sandbox.uninstall("initech.uspacy.ua").status_code == 204
    assert served.accounts() == []


def test_backfill_scores_existing_contacts(served: ServedUspacy) -> None:
    served.sandbox.create_portal(DOMAIN)
    made = served.sandbox.act_create(
        DOMAIN,
        "contacts",
        first_name="Olena",
        last_name="Koval",
        position="CEO",
        email=[{"value": "olena@acme.ua", "type": "work"}],
    )
    pk = served.install()

    assert served.uspacy.backfill(pk) is True
    record = served.sandbox.get_record(DOMAIN, "contacts", made["id"])
    assert record is not None and isinstance(record.get("conturs_score"), int)
    assert served.uspacy.unfinished_backfills() == []
    assert served.uspacy.describe(DOMAIN)["backfill"]["finished"] is True


def test_disconnect_removes_our_webhook_and_every_trace(served: ServedUspacy) -> None:
    served.install()
    client_id = served.account().client_id
    assert len(served.sandbox.store.portals[DOMAIN].webhooks) == 1

    served.uspacy.disconnect(DOMAIN)
    assert served.sandbox.store.portals[DOMAIN].webhooks == {}
    assert served.accounts() == []
    with services_of(served.app).sessions() as session:
        assert session.get(Client, client_id) is None


def test_operators_list_and_show_uspacy_portals(
    served: ServedUspacy, monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    served.install()
    settings = served.app.config
    for name in (
        "DATABASE_URL",
        "SECRET_KEY",
        "USPACY_CLIENT_ID",
        "USPACY_CLIENT_SECRET",
        "USPACY_BASE_URL_TEMPLATE",
        "PUBLIC_BASE_URL",
    ):
        monkeypatch.setenv(name, settings[name])
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "cli"))

    def invoke(*args: str) -> dict:
        context = _Context()
        try:
            result = CliRunner().invoke(
                main, list(args), obj=context, catch_exceptions=False
            )
        finally:
            if context._app is not None:
                close_app(context._app)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    listed = invoke("accounts", "list", "--crm", "uspacy")
    assert listed["account"] == DOMAIN and listed["status"] == "installed"
    shown = invoke("accounts", "show", "--crm", "uspacy", "--account", DOMAIN)
    assert shown["webhook_url"].startswith(served.base_url + "/uspacy/v1/webhooks/")
    assert set(shown["field_codes"]) == {"leads", "contacts"}
