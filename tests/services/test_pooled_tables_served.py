"""A newcomer whose similar clients' outcomes show lead status levels out of order
starts from value tables learned from them: published with its similar_clients
version, applied by scoring, returned by the Config API; its own first refit
keeps them."""

from app.models import Client
from app.scoring import FACTOR_KEYS, compute_score
from app.services.learning.clients import create_client
from app.services.learning.config import ConfigService
from app.services.learning.profiles import update_stated_profile
from app.services.learning.weights import refit_clients
from app.services.scoring.configs import config_of
from tests.services.test_value_tables_served import (
    STATUS,
    _NoQueue,
    add_non_monotone_outcomes,
    latest,
)

PROFILE = {"industry": "software_saas", "company_size": "51-200", "country": "US"}


def registered(sessions, email: str) -> str:
    client_id = create_client(sessions, email).client_id
    with sessions.begin() as session:
        update_stated_profile(session.get(Client, client_id), PROFILE)
    return client_id


def test_a_newcomer_gets_its_similar_clients_tables(sessions) -> None:
    peers = [registered(sessions, f"owner@peer{i}.example") for i in range(7)]
    for seed, peer in enumerate(peers):
        add_non_monotone_outcomes(sessions, peer, 200, seed, base=-3.3)
    refit_clients(sessions, peers)
    newcomer = registered(sessions, "owner@newcomer.example")
    refit_clients(sessions, [newcomer])
    with sessions() as session:
        version = latest(session, newcomer)
        assert version.method == "similar_clients" and not version.personalised
        stored = version.details["value_tables"]
        assert stored["lead_status"][3] > stored["lead_status"][5]
        config = config_of(session, session.get(Client, newcomer))
    assert config.tables.to_json() == stored
    seeds = [0.5] * len(FACTOR_KEYS)
    seeds[STATUS] = 1.0  # qualified: its neighbours' table ranks it low
    assert config.score(seeds) == compute_score(
        config.tables.apply(seeds), config.weights
    )
    assert config.score(seeds) < compute_score(seeds, config.weights)
    described = ConfigService(sessions, _NoQueue()).describe(newcomer)
    assert described["value_tables"] == stored

    # Its first own outcomes are too few for tables of its own: the refit
    # learns weights on the neighbours' tables and keeps serving them.
    add_non_monotone_outcomes(sessions, newcomer, 120, seed=99, base=-3.3)
    refit_clients(sessions, [newcomer])
    with sessions() as session:
        own = latest(session, newcomer)
        assert own.personalised, own.details
        assert (
            own.details["value_tables"]["lead_status"][3]
            > (own.details["value_tables"]["lead_status"][5])
        )
