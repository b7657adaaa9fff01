"""The score recorder keeps POST /leads off the database: it buffers the latest score
of each lead and writes them later, in bulk, into score history and snapshots. These
tests pin what it writes (keyed leads, the client's labels and weights version, the
scoring time), that it stays bounded by dropping the leads that waited longest under
overload and says so,
and that its background writer runs only between start() and stop(), which writes
what is pending, on every backend."""

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.container import services_of
from app.crypto import generate_key
from app.migrations import upgrade
from app.models import LeadSnapshot, ScoreHistory
from app.scoring import DEFAULT_WEIGHTS, LabelBands
from app.services.keys import LeadKeys
from app.services.learning.clients import create_client
from app.services.scoring.configs import build_config
from app.services.scoring.recorder import ScoreRecorder
from tests.conftest import close_app

THREAD_NAME = "score-recorder"
KEYS = LeadKeys("score-recorder-test-secret")
# Bands unlike the defaults, so a label taken from anywhere else shows: 55 is a
# "Warm Lead" here and a "Cool Lead" under the default bands.
BANDS = LabelBands(hot=90, warm=50, cool=20)
CONFIG = build_config(
    "cl_recorder",
    "owner@recorder.example",
    tuple(DEFAULT_WEIGHTS.values()),
    "industry_prior",
    7,
    bands=BANDS,
)
NOW = datetime(2026, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC).timestamp()
VALUES = (0.1, 1.0, 0.0, 0.5, 0.25, 0.7, 0.3, 0.9, 0.5, 0.2)
OTHER_VALUES = (1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.6, 1.0, 0.75, 1.0)

Scored = tuple[str, int, Sequence[float]]


def recorder_threads() -> int:
    return sum(thread.name == THREAD_NAME for thread in threading.enumerate())


def history(sessions: sessionmaker[Session]) -> list[ScoreHistory]:
    with sessions() as session:
        return list(session.scalars(select(ScoreHistory).order_by(ScoreHistory.id)))


def snapshots(sessions: sessionmaker[Session]) -> dict[str, LeadSnapshot]:
    """The snapshots by lead key."""
    with sessions() as session:
        return {row.lead_key: row for row in session.scalars(select(LeadSnapshot))}


def history_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ScoreHistory)) or 0


def batch(name: str, size: int, score: int = 50) -> list[Scored]:
    """`size` distinct leads, named after their batch so a dropped one shows."""
    return [(f"{name}-{index}@lead.example", score, VALUES) for index in range(size)]


def key_of(email: str) -> str:
    return KEYS.for_lead_id(email)


def test_flush_writes_what_was_recorded_and_only_changes(
    sessions: sessionmaker[Session],
) -> None:
    recorder = ScoreRecorder(sessions, KEYS)
    recorder.record(
        CONFIG,
        [
            ("Ann@Lead.example", 55, VALUES),
            ("", 70, VALUES),  # no email: nothing to key the lead by
            ("bob@lead.example", 95, OTHER_VALUES),
        ],
        NOW,
    )
    assert history(sessions) == [] and snapshots(sessions) == {}  # only buffered

    assert recorder.flush() == 2

    scored_at = datetime.fromtimestamp(NOW, UTC)
    expected = {
        key_of("ann@lead.example"): (list(VALUES), 55, "Warm Lead"),
        key_of("bob@lead.example"): (list(OTHER_VALUES), 95, "Hot Lead"),
    }
    assert CONFIG.encoder.labels[55] == "Warm Lead"
    rows = history(sessions)
    assert len(rows) == 2
    current = snapshots(sessions)
    assert set(current) == set(expected)
    for row in [*rows, *current.values()]:
        values, score, label = expected[row.lead_key]
        assert row.client_id == "cl_recorder"
        assert [float(v) for v in row.factor_values] == values
        assert row.score == score
        assert row.label == label == CONFIG.encoder.labels[score]
        assert row.weights_version == 7
        assert row.scored_at == scored_at

    # The same scores again, later: nothing changed, nothing appended.
    recorder.record(
        CONFIG, [("ann@lead.example", 55, VALUES), ("", 70, VALUES)], NOW + 60
    )
    assert recorder.flush() == 0
    assert history_count(sessions) == 2
    assert snapshots(sessions)[key_of("ann@lead.example")].scored_at == scored_at

    # A changed score appends history and moves the snapshot.
    recorder.record(CONFIG, [("ann@lead.example", 85, VALUES)], NOW + 120)
    assert recorder.flush() == 1
    assert history_count(sessions) == 3
    ann = snapshots(sessions)[key_of("ann@lead.example")]
    assert (ann.score, ann.label) == (85, "Warm Lead")
    assert ann.scored_at == datetime.fromtimestamp(NOW + 120, UTC)


def test_overload_drops_the_leads_that_waited_longest_and_logs_the_count(
    sessions: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="app.services.scoring.recorder")
    recorder = ScoreRecorder(sessions, KEYS, max_pending=4)
    batches = {f"batch{number}": batch(f"batch{number}", 2) for number in range(5)}
    for offset, scored in enumerate(batches.values()):
        recorder.record(CONFIG, scored, NOW + offset)

    # Five batches of two leads, room for four: the three oldest go.
    assert recorder.dropped == 6
    assert recorder.flush() == 4
    kept = {
        key_of(email) for name in ("batch3", "batch4") for email, _, _ in batches[name]
    }
    assert set(snapshots(sessions)) == kept
    assert history_count(sessions) == 4

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "dropped 6 pending leads" in warnings[0].getMessage()

    # The count is logged once; a later flush without drops says nothing.
    recorder.record(CONFIG, batch("batch5", 2), NOW + 10)
    assert recorder.flush() == 2
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert recorder.dropped == 6


def test_the_bound_holds_for_one_large_batch_keeping_its_newest_leads(
    sessions: sessionmaker[Session],
) -> None:
    recorder = ScoreRecorder(sessions, KEYS, max_pending=2)
    recorder.record(CONFIG, batch("old", 1), NOW)
    big = batch("big", 3)
    recorder.record(CONFIG, big, NOW + 1)
    assert recorder.dropped == 2
    assert recorder.flush() == 2
    assert set(snapshots(sessions)) == {key_of(e) for e, _, _ in big[1:]}


def test_a_lead_scored_again_replaces_its_pending_entry(
    sessions: sessionmaker[Session],
) -> None:
    """Memory follows distinct leads, not requests: repeats never drop anything."""
    recorder = ScoreRecorder(sessions, KEYS, max_pending=4)
    for offset in range(50):
        recorder.record(CONFIG, batch("same", 4, score=offset % 90), NOW + offset)
    assert recorder.dropped == 0
    assert recorder.flush() == 4
    assert history_count(sessions) == 4  # one row per lead: its latest score


def test_the_writer_runs_only_between_start_and_stop(
    sessions: sessionmaker[Session],
) -> None:
    before = recorder_threads()
    # An hour between flushes: whatever is written below, stop() wrote it.
    recorder = ScoreRecorder(sessions, KEYS, flush_interval=3600)
    recorder.record(CONFIG, batch("early", 2), NOW)
    assert recorder_threads() == before  # no thread until start()

    recorder.start()
    recorder.start()  # idempotent: still one writer
    assert recorder_threads() == before + 1
    recorder.record(CONFIG, batch("late", 2), NOW + 1)
    assert history_count(sessions) == 0

    recorder.stop()
    assert recorder_threads() == before
    written = {key_of(e) for e, _, _ in batch("early", 2) + batch("late", 2)}
    assert set(snapshots(sessions)) == written

    # Stopped, or never started: stop() still writes what is pending.
    recorder.record(CONFIG, batch("after", 1), NOW + 2)
    recorder.stop()
    assert key_of("after-0@lead.example") in snapshots(sessions)
    assert recorder_threads() == before


def test_the_started_writer_flushes_on_its_own(
    sessions: sessionmaker[Session],
) -> None:
    recorder = ScoreRecorder(sessions, KEYS, flush_interval=0.05)
    recorder.start()
    try:
        recorder.record(CONFIG, batch("background", 3), NOW)
        deadline = time.monotonic() + 5
        while history_count(sessions) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert history_count(sessions) == 3
    finally:
        recorder.stop()


def test_an_app_records_leads_only_once_its_writer_is_started(
    database_url: str, tmp_path: Path
) -> None:
    """Serving processes start the writer after any fork (gunicorn's hook), so
    building the app must not start one."""
    before = recorder_threads()
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "score-recorder-test-secret",
            "TOKEN_ENCRYPTION_KEYS": [generate_key()],
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "JOBS_IMMEDIATE": True,
        }
    )
    services = services_of(app)
    try:
        upgrade(services.engine)
        issued = create_client(services.sessions, "owner@recorder.example")
        response = app.test_client().post(
            "/leads",
            json={
                "api_key": issued.api_key,
                "email": "owner@recorder.example",
                "leads": [{"email": "carol@lead.example", "lead_status": "new"}],
            },
        )
        assert response.status_code == 200
        assert recorder_threads() == before
        assert history(services.sessions) == []  # buffered, no writer yet
        services.start_background()
        assert recorder_threads() == before + 1
        services.stop_background()
        assert recorder_threads() == before
        lead_keys = {row.lead_key for row in history(services.sessions)}
        assert lead_keys == {services.lead_keys.for_lead_id("carol@lead.example")}
    finally:
        close_app(app)
