"""Score history: rows appended only on change, the values of a lead at a time,
forgetting a lead, and pruning old rows, on every backend."""

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.models import LeadSnapshot, ScoreHistory
from app.services.scoring.history import (
    ScoredLead,
    forget_lead,
    prune_history,
    record_scores,
    values_at,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
VALUES = (0.1, 1 / 3, 0.0, 1.0, 2.5e-12, 0.7, 0.25, 0.9999999999999999, 0.5, 0.2)


def key(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def lead(
    name: str = "ann@x.co",
    client_id: str = "cl_a",
    values: tuple[float, ...] = VALUES,
    score: int = 70,
    label: str = "warm",
    weights_version: int | None = 3,
    at: datetime = T0,
) -> ScoredLead:
    return ScoredLead(client_id, key(name), values, score, label, weights_version, at)


def record(sessions: sessionmaker[Session], *leads: ScoredLead) -> int:
    with sessions.begin() as session:
        return record_scores(session, leads)


def history_count(sessions: sessionmaker[Session], client_id: str | None = None) -> int:
    query = select(func.count()).select_from(ScoreHistory)
    if client_id is not None:
        query = query.where(ScoreHistory.client_id == client_id)
    with sessions() as session:
        return session.execute(query).scalar_one()


def snapshot(
    sessions: sessionmaker[Session], client_id: str, name: str
) -> LeadSnapshot | None:
    with sessions() as session:
        return session.get(LeadSnapshot, (client_id, key(name)))


def test_first_score_appends_history_and_snapshot(sessions) -> None:
    assert record(sessions, lead()) == 1

    with sessions() as session:
        row = session.execute(select(ScoreHistory)).scalar_one()
    assert (row.client_id, row.lead_key, row.score, row.label) == (
        "cl_a",
        key("ann@x.co"),
        70,
        "warm",
    )
    assert tuple(row.factor_values) == VALUES
    assert (row.weights_version, row.scored_at) == (3, T0)
    current = snapshot(sessions, "cl_a", "ann@x.co")
    assert current is not None
    assert (current.score, current.label, current.weights_version) == (70, "warm", 3)
    assert current.scored_at == T0


def test_identical_rescore_writes_nothing(sessions) -> None:
    record(sessions, lead())

    assert record(sessions, lead(at=T0 + timedelta(hours=1))) == 0

    assert history_count(sessions) == 1
    current = snapshot(sessions, "cl_a", "ann@x.co")
    assert current is not None and current.scored_at == T0


def test_whole_number_values_compare_as_stored(sessions) -> None:
    whole = (0, 1, 2, 0.0, 1.0, 3, 0, 0, 1, 0)
    record(sessions, lead(values=whole))

    assert record(sessions, lead(values=tuple(float(v) for v in whole))) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"values": VALUES[:-1] + (0.2000000000000001,)},
        {"score": 71},
        {"label": "hot"},
        {"weights_version": 4},
        {"weights_version": None},
    ],
    ids=["values", "score", "label", "weights_version", "no_weights_version"],
)
def test_any_change_appends(sessions, change: dict) -> None:
    record(sessions, lead())
    later = dataclasses.replace(lead(at=T0 + timedelta(hours=1)), **change)

    assert record(sessions, later) == 1

    assert history_count(sessions) == 2
    current = snapshot(sessions, "cl_a", "ann@x.co")
    assert current is not None and current.scored_at == T0 + timedelta(hours=1)
    assert (current.score, current.label, current.weights_version) == (
        later.score,
        later.label,
        later.weights_version,
    )
    assert tuple(current.factor_values) == later.values


def test_snapshot_without_score_counts_as_changed(sessions) -> None:
    record(sessions, lead())
    with sessions.begin() as session:  # a snapshot as written before score history
        session.execute(
            update(LeadSnapshot).values(score=None, label=None, weights_version=None)
        )

    assert record(sessions, lead(at=T0 + timedelta(hours=1))) == 1


def test_duplicates_in_one_batch_last_wins(sessions) -> None:
    first = lead(score=10, label="cold")
    last = lead(score=90, label="hot", at=T0 + timedelta(seconds=1))

    assert record(sessions, first, lead(name="bob@x.co"), last) == 2

    with sessions() as session:
        scores = session.scalars(
            select(ScoreHistory.score).where(ScoreHistory.lead_key == key("ann@x.co"))
        ).all()
    assert scores == [90]
    current = snapshot(sessions, "cl_a", "ann@x.co")
    assert current is not None and (current.score, current.label) == (90, "hot")


def test_many_leads_of_many_clients_in_one_call(sessions) -> None:
    clients = ("cl_a", "cl_b", "cl_c")
    batch = [
        lead(name=f"lead{i}@x.co", client_id=clients[i % 3], score=i % 100)
        for i in range(1200)
    ]

    assert record(sessions, *batch) == 1200
    assert [history_count(sessions, c) for c in clients] == [400, 400, 400]

    again = [dataclasses.replace(b, scored_at=T0 + timedelta(hours=1)) for b in batch]
    again[1100] = dataclasses.replace(again[1100], label="hot")
    assert record(sessions, *again) == 1
    assert history_count(sessions) == 1201


def test_values_at_is_the_last_row_at_or_before(sessions) -> None:
    older, newer = VALUES, tuple(v / 2 for v in VALUES)
    record(sessions, lead(values=older, at=T0))
    record(sessions, lead(values=newer, at=T0 + timedelta(days=1)))
    name = key("ann@x.co")

    with sessions() as session:
        assert values_at(session, "cl_a", name, T0 - timedelta(seconds=1)) is None
        assert values_at(session, "cl_a", name, T0) == older
        assert values_at(session, "cl_a", name, T0 + timedelta(hours=5)) == older
        assert values_at(session, "cl_a", name, T0 + timedelta(days=1)) == newer
        assert values_at(session, "cl_a", name, T0 + timedelta(days=9)) == newer
        assert values_at(session, "cl_b", name, T0 + timedelta(days=9)) is None


def test_values_at_falls_back_to_snapshot_after_pruning(sessions) -> None:
    newer = tuple(v / 2 for v in VALUES)
    record(sessions, lead(at=T0))
    record(sessions, lead(values=newer, at=T0 + timedelta(days=1)))
    with sessions.begin() as session:
        prune_history(session, T0 + timedelta(days=30))
    assert history_count(sessions) == 0
    name = key("ann@x.co")

    with sessions() as session:
        assert values_at(session, "cl_a", name, T0 + timedelta(days=2)) == newer
        # Before the snapshot's time the values are no longer known.
        assert values_at(session, "cl_a", name, T0 + timedelta(hours=1)) is None


def test_forget_lead_removes_only_that_lead(sessions) -> None:
    record(sessions, lead(client_id="cl_a"), lead(client_id="cl_b"))
    record(sessions, lead(client_id="cl_a", score=5, at=T0 + timedelta(hours=1)))
    record(sessions, lead(name="bob@x.co", client_id="cl_a"))

    with sessions.begin() as session:
        assert forget_lead(session, "cl_a", key("ann@x.co")) == 3

    assert snapshot(sessions, "cl_a", "ann@x.co") is None
    assert snapshot(sessions, "cl_b", "ann@x.co") is not None
    assert snapshot(sessions, "cl_a", "bob@x.co") is not None
    assert history_count(sessions, "cl_a") == 1
    assert history_count(sessions, "cl_b") == 1
    with sessions() as session:
        assert forget_lead(session, "cl_a", key("ann@x.co")) == 0


def test_prune_history_keeps_newer_rows_and_snapshots(sessions) -> None:
    for day in range(5):
        record(sessions, lead(score=day, at=T0 + timedelta(days=day)))
    record(sessions, lead(name="bob@x.co", at=T0))

    with sessions.begin() as session:
        assert prune_history(session, T0 + timedelta(days=3)) == 4

    with sessions() as session:
        left = session.scalars(
            select(ScoreHistory.scored_at).order_by(ScoreHistory.scored_at)
        ).all()
    assert left == [T0 + timedelta(days=3), T0 + timedelta(days=4)]
    assert snapshot(sessions, "cl_a", "ann@x.co") is not None
    assert snapshot(sessions, "cl_a", "bob@x.co") is not None


def test_prune_history_deletes_in_bounded_batches(sessions) -> None:
    for day in range(5):
        record(sessions, lead(score=day, at=T0 + timedelta(days=day)))
    deletes: list[str] = []

    def count_deletes(conn, cursor, statement, *_args) -> None:
        if statement.lstrip().upper().startswith("DELETE"):
            deletes.append(statement)

    engine = sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count_deletes)
    try:
        with sessions.begin() as session:
            assert prune_history(session, T0 + timedelta(days=10), batch=2) == 5
    finally:
        event.remove(engine, "before_cursor_execute", count_deletes)

    assert len(deletes) == 3  # 2 + 2 + 1 rows
    assert history_count(sessions) == 0
