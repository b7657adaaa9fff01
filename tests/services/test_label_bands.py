"""Label bands served to a client: learned with its personalised versions from its
own outcomes, pinned by the operator, else the seed's 80 / 60 / 40."""

import math
import random

from sqlalchemy import select

from app.models import Client, Feedback, WeightVersion
from app.personalization.bands import HOT_LIFT, MAX_STEP, bands_from_json
from app.personalization.outcomes import REWARDS
from app.scoring import DEFAULT_BANDS, FACTOR_KEYS, LabelBands, compute_score
from app.scoring.weights import validate_weights
from app.services.learning.bands import pin_bands
from app.services.learning.clients import create_client
from app.services.learning.config import ConfigService
from app.services.learning.weights import refit_clients
from app.services.scoring.configs import config_of


class _NoQueue:
    """No refit runs after registering: the prior is what is served."""

    def enqueue(self, name: str, **kwargs: object) -> bool:
        return False


def add_outcomes(sessions, client_id: str, rng: random.Random, count: int) -> None:
    """Leads whose factor values all sit low (so every weight set squashes their
    scores under 60) and whose status and engagement decide conversion."""
    with sessions.begin() as session:
        start = session.query(Feedback).filter_by(client_id=client_id).count()
        for index in range(start, start + count):
            values = [rng.uniform(0.0, 0.6) for _ in FACTOR_KEYS]
            signal = values[5] + values[8]  # lead_status, engagement_score
            chance = 1 / (1 + math.exp(-(signal - 0.75) * 9))
            action = "converted" if rng.random() < chance else "ignored"
            session.add(
                Feedback(
                    client_id=client_id,
                    lead_key=f"lead{index}",
                    action=action,
                    reward=REWARDS[action],
                    factor_values=values,
                )
            )


def band_figures(sessions, client_id: str, bands: LabelBands, weights) -> tuple:
    """(Hot share, Hot conversion, base conversion) over the client's outcomes."""
    with sessions() as session:
        rows = session.scalars(select(Feedback).where(Feedback.client_id == client_id))
        scored = [
            (compute_score(row.factor_values, weights), row.reward > 0) for row in rows
        ]
    hot = [converted for score, converted in scored if score >= bands.hot]
    base = sum(converted for _, converted in scored) / len(scored)
    return len(hot) / len(scored), sum(hot) / max(1, len(hot)), base


def latest_of(sessions, client_id: str) -> WeightVersion:
    with sessions() as session:
        return session.scalar(
            select(WeightVersion)
            .where(WeightVersion.client_id == client_id)
            .order_by(WeightVersion.version.desc())
            .limit(1)
        )


def test_learned_bands_keep_hot_meaningful(sessions) -> None:
    client_id = create_client(sessions, "owner@squash.example").client_id
    rng = random.Random(11)
    add_outcomes(sessions, client_id, rng, 200)
    for _ in range(30):  # a refit after every batch of new outcomes
        add_outcomes(sessions, client_id, rng, 10)
        refit_clients(sessions, [client_id])
        latest = latest_of(sessions, client_id)
        if not latest.personalised:
            continue
        bands = bands_from_json(latest.details["bands"])
        weights = validate_weights(latest.weights)
        share, hot_rate, base = band_figures(sessions, client_id, bands, weights)
        if 0.05 <= share <= 0.30 and hot_rate >= HOT_LIFT * base:
            break
    else:
        raise AssertionError(f"Hot never met its rule: {latest.details}")
    share, _, _ = band_figures(sessions, client_id, DEFAULT_BANDS, weights)
    assert share < 0.05  # what 80/60/40 would have labelled Hot
    with sessions() as session:
        versions = session.scalars(
            select(WeightVersion)
            .where(WeightVersion.client_id == client_id)
            .order_by(WeightVersion.version)
        ).all()
        assert all("bands" not in v.details for v in versions if not v.personalised)
        learned = [bands_from_json(v.details["bands"]) for v in versions]
        served = config_of(session, session.get(Client, client_id))
    assert all(v.personalised for v in versions) and len(learned) >= 6
    steps = [DEFAULT_BANDS, *learned]
    for before, after in zip(steps, steps[1:], strict=False):
        assert abs(after.hot - before.hot) <= MAX_STEP
        assert abs(after.warm - before.warm) <= MAX_STEP
        assert abs(after.cool - before.cool) <= MAX_STEP
    assert served.bands == bands and served.version == latest.version

    # The operator's pin wins, until it is lifted.
    pinned = LabelBands(hot=90, warm=70, cool=20)
    assert pin_bands(sessions, client_id, pinned) == pinned
    with sessions() as session:
        assert config_of(session, session.get(Client, client_id)).bands == pinned
    assert pin_bands(sessions, client_id, None) == bands


def test_default_prior_and_custom_clients_keep_the_seed_bands(sessions) -> None:
    accounts = ConfigService(sessions, _NoQueue())
    prior = accounts.get_config(
        "owner@retail.example", None, {"industry": "Retail"}
    ).body
    custom = create_client(sessions, "c@custom.example", {"lead_status": 1.0})
    default = create_client(sessions, "d@default.example")
    with sessions() as session:
        for client_id, method in (
            (prior["client_id"], "industry_prior"),
            (custom.client_id, "custom"),
            (default.client_id, "default"),
        ):
            config = config_of(session, session.get(Client, client_id))
            assert config.method == method
            assert config.bands is DEFAULT_BANDS
    assert prior["bands"] == {"hot": 80, "warm": 60, "cool": 40}
    # Pinned weights do not keep a client from pinning its bands.
    pinned = LabelBands(hot=75, warm=50, cool=25)
    assert pin_bands(sessions, custom.client_id, pinned) == pinned
    assert pin_bands(sessions, custom.client_id, None) is DEFAULT_BANDS


def test_plentiful_clicks_on_leads_that_never_convert_do_not_shrink_hot(
    sessions,
) -> None:
    """Once a client has 30 conversions, bands are learned on conversions:
    clicks reported on half the leads that did not convert (at random) would
    otherwise raise the base rate so high that no band converts at 1.7x it."""
    client_id = create_client(sessions, "owner@clicks.example").client_id
    rng = random.Random(17)
    add_outcomes(sessions, client_id, rng, 600)
    with sessions.begin() as session:
        for row in session.scalars(
            select(Feedback).where(
                Feedback.client_id == client_id, Feedback.action == "ignored"
            )
        ):
            if rng.random() < 0.6:
                row.action, row.reward = "clicked", REWARDS["clicked"]
    for _ in range(30):  # each version moves a threshold at most MAX_STEP
        add_outcomes(sessions, client_id, rng, 10)
        refit_clients(sessions, [client_id])
        version = latest_of(sessions, client_id)
        bands = bands_from_json(version.details["bands"])
        weights = validate_weights(version.weights)
        with sessions() as session:
            rows = session.scalars(
                select(Feedback).where(Feedback.client_id == client_id)
            )
            scored = [
                (compute_score(row.factor_values, weights), row.action == "converted")
                for row in rows
            ]
        hot = [converted for score, converted in scored if score >= bands.hot]
        base = sum(converted for _, converted in scored) / len(scored)
        share = len(hot) / len(scored)
        if 0.05 <= share <= 0.30 and sum(hot) / max(1, len(hot)) >= HOT_LIFT * base:
            break
    else:
        raise AssertionError(f"Hot never met its rule: {share:.1%} of leads")
