"""The refit benchmark at a small scale, so it cannot rot: its population is what
the services store, and its two refit runs measure what the report claims."""

import importlib.util
import random
from collections import Counter
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from app.db import make_engine, make_session_factory
from app.models import Client, Feedback
from app.personalization.outcomes import REWARDS, Sample
from app.personalization.pooling import PeerOutcomes, pooled_fit
from app.personalization.priors import DEFAULT
from app.personalization.similarity import Neighbour, Peer, PeerIndex, nearest
from app.services.learning import peers as peers_module
from app.services.learning.profiles import profile_of

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "refit_scale.py"
CLIENTS = 150
SAMPLE = 8  # clients refit in the second run, the one that pools peers' outcomes


@pytest.fixture(scope="module")
def refit_scale():
    spec = importlib.util.spec_from_file_location("refit_scale", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_population_and_both_refit_runs(refit_scale, database_url, monkeypatch):
    population = refit_scale.prepare(database_url, CLIENTS, seed=3)
    assert population["clients"] == CLIENTS
    _check_rows(database_url, population["outcomes"])
    # The first run in a fresh process, as the benchmark measures it.
    first = refit_scale.run_in_child(database_url, stop_after=300)
    assert first["clients"] == first["versions_published"] == CLIENTS
    # peers are the clients with enough outcomes, learned from or not
    assert first["similar_clients"] > 0
    assert 0 < first["personalised"] < CLIENTS
    # Again, each client now judged against what it serves: sampled clients get
    # their pooled fit, and each peer's outcomes are read once in the run.
    reads = Counter()
    real = peers_module._pooled_samples
    monkeypatch.setattr(
        peers_module,
        "_pooled_samples",
        lambda session, client_id, per_day: (
            reads.update([client_id]) or real(session, client_id, per_day)
        ),
    )
    second = refit_scale.refit_run(database_url, trace=True, sample=SAMPLE)
    assert reads and max(reads.values()) == 1
    assert second["clients"] == SAMPLE
    assert second["similar_clients"] > 0
    assert 0 < second["tracemalloc_peak_bytes"] < second["peak_rss_bytes"]
    assert second["estimated_seconds"] == pytest.approx(
        second["seconds"] * CLIENTS / SAMPLE, rel=0.01
    )
    assert refit_scale.failures([first, second]) == []
    assert "hourly refit" in refit_scale.render(population, [first, second])


def test_failures_name_each_broken_limit(refit_scale):
    report = importlib.import_module("refit_report")
    run = {"seconds": 1.0, "peak_rss_bytes": 1, "similar_clients": 1}
    slow = {**run, "seconds": report.MAX_SECONDS + 1}
    large = {**run, "peak_rss_bytes": report.MAX_RSS_BYTES + 1}
    sampled = {**run, "estimated_seconds": report.MAX_SECONDS + 1}
    assert report.failures([run, run]) == []
    assert len(report.failures([slow, large])) == 2
    assert len(report.failures([run, sampled])) == 1
    assert report.failures([run, {**run, "similar_clients": 0}]) == [
        "no client was served similar_clients: pooling was not measured"
    ]
    stopped = {"stopped": True, "seconds": report.MAX_SECONDS + 30.0}
    assert len(report.failures([{**stopped, "peak_rss_bytes": 1}])) == 2


def test_nearest_in_an_index_is_nearest_in_the_list(refit_scale):
    """Scanning only the client's vertical finds exactly what scanning all does."""
    module = importlib.import_module("refit_population")
    rng = random.Random(5)
    profiles = [profile_of(Client(**module._client_row(rng, i))) for i in range(600)]
    peers = [
        Peer(f"p{i}", profile, DEFAULT, rng.choice([10, 30, 40, 200]))
        for i, profile in enumerate(profiles[:400])
    ]
    index = PeerIndex(peers)
    assert list(index) == peers and index[3] == peers[3]
    for i, profile in enumerate(profiles):
        found = nearest(profile, index, exclude=f"p{i}")
        assert found == nearest(profile, peers, exclude=f"p{i}")
    assert any(len(nearest(p, index)) >= 5 for p in profiles)


def test_pooled_fit_is_the_same_from_arrays():
    """Outcomes held as PeerOutcomes pool exactly as the same Sample lists."""
    rng = np.random.default_rng(9)
    truth = rng.dirichlet(np.ones(10))
    found, lists = [], {}
    for i in range(6):
        x = rng.random((150, 10))
        won = rng.random(150) < 1 / (1 + np.exp(-12 * (x @ truth - 0.5)))
        actions = np.where(won, "converted", rng.choice(["ignored", "bounced"], 150))
        lists[f"c{i}"] = [
            Sample(tuple(v), REWARDS[a]) for v, a in zip(x, actions, strict=True)
        ]
        found.append(Neighbour(f"c{i}", 0.7 + 0.05 * i, DEFAULT, 150))
    arrays = {key: PeerOutcomes(samples) for key, samples in lists.items()}
    assert list(arrays["c0"]) == lists["c0"]
    from_arrays = pooled_fit(found, arrays, DEFAULT)
    assert from_arrays.accepted
    assert from_arrays == pooled_fit(found, lists, DEFAULT)
    assert pooled_fit(found, arrays, DEFAULT) is from_arrays  # kept, not refitted


def _check_rows(url: str, outcomes: int) -> None:
    """Clients with stated profiles and feedback rows as the services write them."""
    module = importlib.import_module("refit_population")
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            clients = list(session.scalars(select(Client)))
            verticals = {c.vertical for c in clients}
            assert len(verticals) >= 15  # spread over the taxonomy
            for client in clients:
                assert client.vertical == profile_of(client).vertical
                assert {"company_size", "country"} <= set(client.stated_profile)
            counts = session.execute(
                select(func.count()).select_from(Feedback).group_by(Feedback.client_id)
            ).scalars()
            counts = sorted(counts)
            assert sum(counts) == outcomes
            assert counts[len(counts) // 2] <= 50 < counts[-1]  # skewed
            for row in session.scalars(select(Feedback).limit(500)):
                assert row.reward == REWARDS[row.action]
                assert len(row.factor_values) == 10
                assert all(0.0 <= v <= 1.0 for v in row.factor_values)
                assert len(row.lead_key) == 64
                start = module.START
                assert start <= row.created_at <= start + timedelta(days=module.DAYS)
    finally:
        engine.dispose()
