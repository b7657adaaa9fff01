"""The operators' view: `conturs accounts list | show` report, per portal, the
contacts scored, the weights the portal's client is served and its recorded
outcomes by action, and an uninstall found in HubSpot shows as such."""

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import _Context, main
from app.services.learning.clients import create_client
from tests.conftest import TEST_ENCRYPTION_KEY, close_app
from tests.crm_app.conftest import (
    SERVED_APP_ID,
    SERVED_CLIENT_ID,
    SERVED_CLIENT_SECRET,
    ServedApp,
)

HUB, OTHER_HUB = 48213391, 48213392
ACTIONS = ("converted", "replied", "clicked", "ignored", "bounced")
NO_FEEDBACK = dict.fromkeys(ACTIONS, 0)
VALUES = [0.5] * 10


@pytest.fixture
def conturs(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    database_url: str,
    served: ServedApp,
) -> Callable[..., str]:
    """`conturs …` as an operator runs it on the served app's deployment."""
    for name, value in {
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
        "PUBLIC_BASE_URL": served.base_url,
        "HUBSPOT_CLIENT_ID": SERVED_CLIENT_ID,
        "HUBSPOT_CLIENT_SECRET": SERVED_CLIENT_SECRET,
        "HUBSPOT_APP_ID": str(SERVED_APP_ID),
        "HUBSPOT_API_BASE_URL": served.hubspot.base_url,
        "HUBSPOT_AUTHORIZE_URL": f"{served.hubspot.base_url}/oauth/authorize",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CONFIG_API_URL", raising=False)

    def invoke(*args: str) -> str:
        context = _Context()
        try:
            result = CliRunner().invoke(
                main, list(args), obj=context, catch_exceptions=False
            )
        finally:  # each command builds its own app; close its connections
            if context._app is not None:
                close_app(context._app)
        assert result.exit_code == 0, result.output
        return result.stdout

    return invoke


def _show(conturs: Callable[..., str], hub_id: int) -> dict:
    return json.loads(
        conturs("accounts", "show", "--crm", "hubspot", "--account", str(hub_id))
    )


def test_show_reports_served_weights_and_outcomes_counted(served, conturs):
    served.hubspot.seed(HUB, contacts=120, deals=5)
    account_pk = served.install(HUB)
    hubspot = served.services.hubspot
    while not hubspot.backfill(account_pk):
        pass

    shown = _show(conturs, HUB)
    assert shown["status"] == "installed"
    assert shown["contacts_scored"] == 120
    assert shown["backfill"] == {"done": 120, "total": 120, "finished": True}
    # The weights /config reports for the portal's client, version included.
    config = served.services.accounts.describe(shown["client_id"])
    assert shown["weights"] == {
        "method": config["method"],
        "version": config["version"],
    }
    assert shown["weights"]["method"] in {"default", "industry_prior"}
    assert shown["feedback"] == NO_FEEDBACK

    feedback = served.services.feedback
    feedback.record_outcome(shown["client_id"], "lead-1", "converted", VALUES)
    feedback.record_outcome(shown["client_id"], "lead-2", "converted", VALUES)
    feedback.record_outcome(shown["client_id"], "lead-2", "replied", VALUES)
    # Another client's outcome is not the portal's.
    stranger = create_client(served.services.sessions, "ops@elsewhere-gmbh.de")
    feedback.record_outcome(stranger.client_id, "lead-1", "bounced", VALUES)

    counted = _show(conturs, HUB)["feedback"]
    assert counted == {**NO_FEEDBACK, "converted": 2, "replied": 1}

    # A refit publishes a version: show names the one now served.
    [refit] = [
        json.loads(line)
        for line in conturs(
            "weights", "refit", "--client", shown["client_id"]
        ).splitlines()
    ]
    assert refit["version"] is not None
    served_now = _show(conturs, HUB)["weights"]
    assert served_now == {"method": refit["method"], "version": refit["version"]}


def test_list_shows_every_portal_and_an_uninstalled_one(served, conturs):
    served.install(HUB)
    served.install(OTHER_HUB, user="admin@northwind-logistics.com")
    served.hubspot.uninstall(OTHER_HUB)
    found = json.loads(conturs("accounts", "check-uninstalls"))
    assert found == {"uninstalled": [str(OTHER_HUB)]}

    listed = [json.loads(line) for line in conturs("accounts", "list").splitlines()]
    by_hub = {row["account"]: row for row in listed}
    assert list(by_hub) == [str(HUB), str(OTHER_HUB)]
    assert by_hub[str(HUB)]["status"] == "installed"
    assert by_hub[str(OTHER_HUB)]["status"] == "uninstalled"
    for row in listed:
        assert row["contacts_scored"] == 0
        assert row["feedback"] == NO_FEEDBACK
        assert set(row["weights"]) == {"method", "version"}
    assert _show(conturs, OTHER_HUB)["status"] == "uninstalled"
