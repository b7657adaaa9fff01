"""Uspacy's deliveries as they come: in either envelope (plain JSON or SNS-style,
each with its own handshake), duplicated and out of order, with our own writes
echoed back. Each record a salesperson changed is written once; nothing else."""

import pytest

from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    field_scores,
    installed,
    people,
    settled,
    stored_scores,
    unthrottled,
    writes,
)


@pytest.mark.parametrize("envelope", ["plain", "sns"])
def test_each_envelope_duplicates_and_echoes_cost_no_extra_writes(
    served: ServedUspacy, envelope: str
):
    unthrottled(served, DOMAIN)
    served.sandbox.delivery(
        DOMAIN, envelope=envelope, duplicate_rate=0.5, reorder_rate=0.3, seed=3
    )
    made = people(served, DOMAIN, 4)
    pk = installed(served, DOMAIN)  # the handshake came in this envelope too
    settled(served, pk)  # the backfill's own writes came back: nothing to do
    before = writes(served, DOMAIN)
    assert before == 8

    # Salespeople fill in what was missing: each change moves the score.
    changed = [("leads", made["leads"][0]), ("contacts", made["contacts"][0])]
    for kind, record_id in changed:
        served.sandbox.act_update(
            DOMAIN,
            kind,
            record_id,
            phone=[{"value": "380501234567"}],
            position="Chief Executive Officer",
        )
    new = served.sandbox.act_create(
        DOMAIN, "contacts", first_name="Ivan", email=[{"value": "ivan@x.ua"}]
    )
    settled(served, pk)

    assert writes(served, DOMAIN) - before == len(changed) + 1
    envelopes = {d["envelope"] for d in served.sandbox.deliveries()}
    assert envelopes == {envelope}
    scores = field_scores(served, DOMAIN)
    assert scores[("contacts", str(new["id"]))] is not None
    assert stored_scores(served, pk) == scores

    # Redelivery of everything already seen changes nothing.
    for webhook in served.sandbox.store.portals[DOMAIN].webhooks.values():
        served.sandbox.webhooks.repeat(webhook)
    settled(served, pk)
    assert writes(served, DOMAIN) - before == len(changed) + 1
