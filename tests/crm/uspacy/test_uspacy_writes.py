"""Writing scores to leads and contacts over HTTP and reading them back; records
Uspacy refuses (deleted, or a field of another type) reported one by one, and a
value of the wrong type refused as Rejected."""

from datetime import UTC, datetime

import pytest

from app.crm.base import RecordRef, Rejected, ScoreWrite, StoredScore
from app.crm.uspacy import contract
from app.crm.uspacy.errors import Invalid
from tests.crm.uspacy.helpers import DOMAIN

PATCHES = (
    "PATCH /crm/v1/entities/<any(leads, contacts, deals, companies):kind>"
    "/<int:record_id>"
)
SCORED_AT = datetime(2026, 3, 1, 9, 30, 15, tzinfo=UTC)


def score(ref, value: int = 87, label: str = "Hot Lead") -> ScoreWrite:
    return ScoreWrite(
        ref=ref,
        score=value,
        label=label,
        top_factors="Lead Status +15, Company Size +10",
        explanation="Hot: qualified status, CEO title; missing: phone",
        method="default",
        scored_at=SCORED_AT,
    )


def refs_of(uspacy, **kinds: int) -> list[RecordRef]:
    return [
        RecordRef(kind, str(uspacy.act_create(DOMAIN, kind, first_name="A")["id"]))
        for kind, count in kinds.items()
        for _ in range(count)
    ]


def test_scores_written_are_read_back(uspacy, account):
    account.ensure_fields()
    lead, contact = refs_of(uspacy, leads=1, contacts=1)

    failures = account.write_scores(
        [score(lead), score(contact, 42, "Cool Lead"), score(lead, 91)]
    )

    assert failures == []
    # Two writes to one lead: only the later one was sent.
    assert uspacy.calls(DOMAIN)[PATCHES] == 2
    back = {c.ref: c.stored for c in account.read_contacts([lead, contact])}
    assert back[lead] == StoredScore(
        score=91,
        label="Hot",
        top_factors="Lead Status +15, Company Size +10",
        explanation="Hot: qualified status, CEO title; missing: phone",
        method="default",
        scored_at=SCORED_AT,
    )
    assert back[contact].score == 42 and back[contact].label == "Cool"
    stored = uspacy.get_record(DOMAIN, "leads", int(lead.record_id))
    # As Uspacy holds them: an integer, the chosen option, unix seconds.
    assert stored["conturs_score"] == 91
    assert [o["value"] for o in stored["conturs_label"]] == ["hot"]
    assert stored["conturs_scored_at"] == int(SCORED_AT.timestamp())


def test_records_uspacy_refuses_are_reported_and_the_rest_written(uspacy, account):
    account.ensure_fields()
    gone, kept_lead = refs_of(uspacy, leads=2)
    uspacy.act_delete(DOMAIN, "leads", int(gone.record_id))

    failures = account.write_scores([score(gone), score(kept_lead)])

    assert [(f.ref, f.retryable) for f in failures] == [(gone, False)]
    assert "no longer exists" in failures[0].reason
    [written] = account.read_contacts([kept_lead])
    assert written.stored.score == 87


def test_values_that_cannot_be_sent_fail_without_a_call(uspacy, account):
    account.ensure_fields()
    [lead] = refs_of(uspacy, leads=1)

    writes = [
        score(lead, 101),
        score(lead, 50, "Lukewarm"),
        score(RecordRef("deals", "1")),
        score(RecordRef("leads", "x1")),
    ]

    failures = account.write_scores(writes)

    assert [f.retryable for f in failures] == [False] * 4
    assert PATCHES not in uspacy.calls(DOMAIN)


def test_a_field_of_another_type_refuses_the_write_as_rejected(uspacy, account):
    # An admin turned `conturs_score` into a text field.
    portal = uspacy.store.portals[DOMAIN]
    account.ensure_fields()
    portal.fields["leads"]["conturs_score"]["type"] = "string"
    [lead] = refs_of(uspacy, leads=1)

    [failure] = account.write_scores([score(lead)])

    assert failure.ref == lead and failure.retryable is False
    assert "conturs_score" in failure.reason


def test_a_value_of_the_wrong_type_is_rejected(uspacy, account):
    account.ensure_fields()
    [lead] = refs_of(uspacy, leads=1)
    path = contract.RECORD_PATH.format(kind="leads", record_id=lead.record_id)

    with pytest.raises(Rejected) as refused:
        account._api.call("PATCH", path, body={"conturs_score": "87"})

    assert isinstance(refused.value, Invalid)
    assert refused.value.keys == ("conturs_score",)
    assert refused.value.retryable is False
    assert "must be an integer" in refused.value.message
