"""Learned value tables through the services: a refit publishes them with a
personalised version, scoring applies them (locally and from a Config API
payload), the response explains them, and pinned weights never use them."""

import math
import random

import orjson
from sqlalchemy import select

from app.models import Client, Feedback, WeightVersion
from app.personalization.outcomes import REWARDS
from app.scoring import FACTOR_KEYS, IDENTITY, compute_score
from app.services.learning.clients import create_client
from app.services.learning.config import ConfigService
from app.services.learning.tables import served_tables
from app.services.learning.weights import refit_clients
from app.services.scoring.configs import config_of
from app.services.scoring.remote_source import _config_from_payload

STATUS = FACTOR_KEYS.index("lead_status")
LEVELS = (0.0, 0.1, 0.3, 0.5, 0.7, 1.0)


class _NoQueue:
    def enqueue(self, name: str, **kwargs: object) -> bool:
        return False


def add_non_monotone_outcomes(
    sessions, client_id: str, count: int, seed: int = 5, base: float = -3.0
) -> None:
    """Leads whose "open" status (0.5) converts best and "qualified" worst
    (`base`: the log-odds of conversion where status and engagement add none)."""
    rng = random.Random(seed)
    with sessions.begin() as session:
        for index in range(count):
            values = [rng.random() for _ in FACTOR_KEYS]
            values[STATUS] = rng.choice(LEVELS)
            z = 3.0 - 10.0 * (values[STATUS] - 0.5) ** 2 + 2.0 * values[6] + base
            action = "converted" if rng.random() < 1 / (1 + math.exp(-z)) else "ignored"
            session.add(
                Feedback(
                    client_id=client_id,
                    lead_key=f"lead{index}",
                    action=action,
                    reward=REWARDS[action],
                    factor_values=values,
                )
            )


def latest(session, client_id: str) -> WeightVersion:
    return session.scalar(
        select(WeightVersion)
        .where(WeightVersion.client_id == client_id)
        .order_by(WeightVersion.version.desc())
        .limit(1)
    )


def test_tables_are_published_served_and_explained(sessions) -> None:
    client_id = create_client(sessions, "owner@tables.example").client_id
    add_non_monotone_outcomes(sessions, client_id, 1500)
    refit_clients(sessions, [client_id])
    with sessions() as session:
        version = latest(session, client_id)
        assert version.personalised
        stored = version.details["value_tables"]
        assert stored["lead_status"][3] > stored["lead_status"][5]
        config = config_of(session, session.get(Client, client_id))
    assert config.tables.to_json() == stored
    seeds = [0.5] * len(FACTOR_KEYS)
    seeds[STATUS] = 1.0  # qualified: the table ranks it low
    assert config.score(seeds) == compute_score(
        config.tables.apply(seeds), config.weights
    )
    assert config.score(seeds) != compute_score(seeds, config.weights)

    body = orjson.loads(config.encoder.lead("a@b.example", config.score(seeds), seeds))
    by_key = {factor["key"]: factor for factor in body["factors"]}
    status = by_key["lead_status"]
    assert status["source"] == "table" and status["seed_value"] == 1.0
    assert status["value"] == round(config.tables.apply(seeds)[STATUS], 4)
    assert status["contribution"] == round(status["weight"] * status["value"], 4)
    unlearned = [k for k in FACTOR_KEYS if k not in stored]
    for key in unlearned:
        assert set(by_key[key]) == {"key", "name", "weight", "value", "contribution"}

    # A scorer in remote mode gets the same tables from the Config API.
    described = ConfigService(sessions, _NoQueue()).describe(client_id)
    assert described["value_tables"] == stored
    remote = _config_from_payload(described, "owner@tables.example")
    assert remote.score(seeds) == config.score(seeds)

    # A refit on unchanged outcomes keeps weights and tables (the bands may
    # still step toward their target, at most a few points a version).
    refit_clients(sessions, [client_id])
    with sessions() as session:
        again = latest(session, client_id)
        assert again.weights == version.weights
        assert again.details["value_tables"] == stored


def test_pinned_weights_keep_the_seed_values(sessions) -> None:
    client_id = create_client(sessions, "owner@pinned.example").client_id
    add_non_monotone_outcomes(sessions, client_id, 1500)
    refit_clients(sessions, [client_id])
    with sessions.begin() as session:
        client = session.get(Client, client_id)
        client.pinned_weights = dict.fromkeys(FACTOR_KEYS, 0.1)
        session.flush()
        assert served_tables(client, latest(session, client_id)) is IDENTITY
        assert config_of(session, client).tables is IDENTITY
