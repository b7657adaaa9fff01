"""Pooling under attack, through the services: a client that registers with the
common profile and invents outcomes does not move a newcomer's weights; refits
read the peers once per run and record who contributed."""

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select

from app.models import Client, WeightVersion
from app.personalization.similarity import MIN_OUTCOMES
from app.scoring import DEFAULT_WEIGHTS
from app.services.learning import peers as peers_module
from app.services.learning.peers import PeerPool
from app.services.learning.weights import refit_clients

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "poisoning.py"


@pytest.fixture(scope="module")
def poisoning():
    spec = importlib.util.spec_from_file_location("poisoning", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_attacker_does_not_move_a_newcomers_weights(
    poisoning, database_url, monkeypatch
):
    loads = []
    real = peers_module._peers
    monkeypatch.setattr(
        peers_module, "_peers", lambda session: loads.append(1) or real(session)
    )
    rows = poisoning.simulate(database_url, honest=150, attack=400, max_k=1)
    baseline, attacked = rows
    assert baseline["method"] == attacked["method"] == "similar_clients"
    assert attacked["l1"] <= poisoning.MAX_L1
    assert attacked["score_move"] <= poisoning.MAX_SCORE_MOVE
    # one read of the peers per refit run: setup (1), k = 0 (1), k = 1 (2)
    assert len(loads) == 4


def test_refit_reads_peers_once_and_records_contributors(
    poisoning, database_url, monkeypatch
):
    world = poisoning.World(database_url)
    try:
        _refit_and_check(poisoning, world, monkeypatch)
    finally:
        world.close()


def _refit_and_check(poisoning, world, monkeypatch) -> None:
    rng = poisoning.np.random.default_rng(3)
    peers = [
        world.report(f"peer{i}", poisoning.honest_outcomes(rng, 150)) for i in range(6)
    ]
    refit_clients(world.sessions, peers)
    newcomers = [world.client(f"new{i}")[0] for i in range(3)]
    loads = []
    real = peers_module._peers
    monkeypatch.setattr(
        peers_module, "_peers", lambda session: loads.append(1) or real(session)
    )
    refit_clients(world.sessions, newcomers)
    assert len(loads) == 1
    with world.sessions() as session:
        version = session.scalar(
            select(WeightVersion).where(WeightVersion.client_id == newcomers[0])
        )
    assert version.method == "similar_clients"
    shares = version.details["pooled_peers"]
    # every peer with enough outcomes, whether or not its own refit was served
    assert set(shares) == set(peers)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)


def test_a_peer_is_an_unpinned_client_with_enough_outcomes(poisoning, database_url):
    world = poisoning.World(database_url)
    try:
        rng = poisoning.np.random.default_rng(4)
        few = world.report("few", poisoning.honest_outcomes(rng, MIN_OUTCOMES - 1))
        enough = world.report("enough", poisoning.honest_outcomes(rng, MIN_OUTCOMES))
        pinned = world.report("pinned", poisoning.honest_outcomes(rng, 60))
        with world.sessions.begin() as session:
            session.get(Client, pinned).pinned_weights = dict(DEFAULT_WEIGHTS)
        with world.sessions() as session:
            # no refit ran: none of them serves weights learned from its outcomes
            assert not any(
                v.personalised for v in session.scalars(select(WeightVersion))
            )
            found = {p.client_id: p.n_outcomes for p in PeerPool.load(session).peers}
        assert found == {enough: MIN_OUTCOMES}
        assert few not in found
    finally:
        world.close()
