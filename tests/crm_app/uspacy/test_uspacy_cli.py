"""`conturs accounts configure --crm uspacy`: a portal's stage meanings and
field mapping set by an operator, seen in what the app then does with the
portal's leads and contacts."""

import json

from click.testing import CliRunner

from app.cli import main
from app.cli.context import _Context
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    DEAL_WON,
    LEAD_LOST,
    LEAD_WON,
    feedback,
    field_scores,
    installed,
    lead_key,
    people,
    recorded_outcomes,
    settled,
    unthrottled,
)


def _cli(served: ServedUspacy, *args: str):
    context = _Context()
    context._app = served.app  # the served deployment's own app
    return CliRunner().invoke(main, list(args), obj=context)


def _configure(served: ServedUspacy, *args: str):
    return _cli(
        served, "accounts", "configure", "--crm", "uspacy", "--account", DOMAIN, *args
    )


def test_stage_meanings_set_from_the_cli_decide_a_lead_s_outcome(
    served: ServedUspacy,
):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 3)
    pk = installed(served, DOMAIN)

    bad = _configure(served, "--stage", f"{LEAD_LOST}=maybe")
    assert bad.exit_code == 1 and "unknown stage action" in bad.output
    shapeless = _configure(served, "--stage", "converted")
    assert shapeless.exit_code == 1 and "STAGE_ID=" in shapeless.output
    configured = _configure(
        served,
        "--stage",
        f"{LEAD_LOST}=converted",
        "--stage",
        f"{DEAL_WON}=none",
        "--stage",
        f"{LEAD_WON}=none",
        "--stage",
        "99=ignored",
        "--stage",
        "99=",
    )
    assert configured.exit_code == 0, configured.output
    overrides = {
        str(LEAD_LOST): "converted",
        str(DEAL_WON): "none",
        str(LEAD_WON): "none",
    }
    assert json.loads(configured.stdout) == {"stage_actions": overrides}
    assert served.uspacy.describe(DOMAIN)["stage_actions"] == overrides

    lost, won = made["leads"][:2]
    served.sandbox.act_move(DOMAIN, "leads", lost, LEAD_LOST)
    served.sandbox.act_move(DOMAIN, "leads", won, LEAD_WON)
    buyer = made["contacts"][0]
    deal = served.sandbox.act_create(DOMAIN, "deals", contacts=[{"id": buyer}])
    served.sandbox.act_move(DOMAIN, "deals", deal["id"], DEAL_WON)
    settled(served, pk)
    # A lost lead counts as converted on this portal; a won deal or lead means
    # nothing.
    assert recorded_outcomes(served, pk) == {f"leads:{lost}": "converted"}
    assert feedback(served, pk) == [
        (lead_key(served, DOMAIN, "leads", lost), "converted")
    ]


def test_a_field_mapping_set_from_the_cli_rescores_leads_and_contacts(
    served: ServedUspacy,
):
    unthrottled(served, DOMAIN)
    made = people(served, DOMAIN, 2)
    for kind, ids in made.items():
        for record_id in ids:
            served.sandbox.act_update(DOMAIN, kind, record_id, sector="Software")
    pk = installed(served, DOMAIN)
    before = field_scores(served, DOMAIN)

    unknown = _configure(served, "--map", "colour=sector")
    assert unknown.exit_code == 1 and "unknown lead field" in unknown.output
    ours = _configure(served, "--map", "industry=conturs_score")
    assert ours.exit_code == 1 and "not a Uspacy field code" in ours.output
    assert served.uspacy.describe(DOMAIN)["mapping"] == {}

    mapped = _configure(served, "--map", "industry=sector")
    assert mapped.exit_code == 0, mapped.output
    assert json.loads(mapped.stdout) == {
        "mapping": {"industry": "sector"},
        "rescoring": True,
    }
    _backfill(served, pk)
    after = field_scores(served, DOMAIN)
    # Industry now reads "Software" on every record: every score went up.
    assert after.keys() == before.keys()
    assert all(after[key] > before[key] for key in before), (before, after)

    reset = _configure(served, "--map", "industry=")
    assert reset.exit_code == 0 and json.loads(reset.stdout)["mapping"] == {}
    _backfill(served, pk)
    assert field_scores(served, DOMAIN) == before

    # The portal's profile, as for HubSpot: its client's prior follows.
    stated = _configure(served, "--industry", "Computer Software", "--country", "UA")
    assert stated.exit_code == 0, stated.output
    assert json.loads(stated.stdout)["refit_pending"] is True


def _backfill(served: ServedUspacy, pk: int) -> None:
    """The walk the mapping change queued, run here to its end."""
    for _ in range(20):
        if served.uspacy.backfill(pk, pages=10):
            return
    raise AssertionError("the backfill did not finish")
