"""Value tables learned from similar clients' outcomes: served to a newcomer only
where they beat on held-out neighbours what it would be served without them (the
pooled weights, or the prior when those fail), and the prior that a client's own
refit starts from."""

import numpy as np

from app.personalization.learning import fit_weights
from app.personalization.numerics import roc_auc
from app.personalization.outcomes import Sample
from app.personalization.pooling import pooled_fit
from app.personalization.priors import DEFAULT
from app.personalization.selection import TABLES, personalise, prior_choice
from app.personalization.settings import FitSettings
from app.personalization.similarity import Neighbour
from app.personalization.value_tables import table_values

STATUS = 5
STATUS_LEVELS = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
NO_TABLES = FitSettings(min_table_class=10**9)


def leads(n: int, seed: int, non_monotone: bool, base: float = -3.0):
    """Seed values of random leads and whether each converted. Non-monotone:
    "open" (0.5) converts best and "qualified" (1.0) worst."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    x[:, STATUS] = rng.choice(STATUS_LEVELS, n)
    if non_monotone:
        status_effect = 3.0 - 10.0 * (x[:, STATUS] - 0.5) ** 2
    else:
        status_effect = 2.5 * x[:, STATUS]
    z = status_effect + 2.0 * x[:, 6] + base
    return x, rng.random(n) < 1 / (1 + np.exp(-z))


def samples_of(x, won, prefix: str = "k") -> list[Sample]:
    return [
        Sample(tuple(x[i]), 1.0 if won[i] else -0.5, f"{prefix}{i}", arrival=i + 1)
        for i in range(len(x))
    ]


def peers(count: int, non_monotone: bool, n: int = 250):
    found = [Neighbour(f"p{i}", 0.8, DEFAULT, n) for i in range(count)]
    samples = {
        f"p{i}": samples_of(
            *leads(n, seed=100 + i, non_monotone=non_monotone, base=-3.3 + 0.15 * i),
            prefix=f"p{i}-",
        )
        for i in range(count)
    }
    return found, samples


def auc(weights, tables, x, won) -> float:
    values = x if tables is None else table_values(x, tables)
    return roc_auc(values @ np.asarray(weights), won)


def test_neighbours_with_levels_out_of_order_give_a_newcomer_tables():
    found, samples = peers(8, non_monotone=True)
    result = pooled_fit(found, samples, DEFAULT)
    assert result.accepted and result.tables is not None, result.reason
    table = result.tables.tables["lead_status"]
    assert table[3] > table[5]  # open above qualified, learned from the peers
    x, won = leads(20_000, seed=7, non_monotone=True)
    plain = pooled_fit(found, samples, DEFAULT, settings=NO_TABLES)
    assert plain.accepted and plain.tables is None
    gain = auc(result.weights, result.tables, x, won) - auc(plain.weights, None, x, won)
    assert gain > 0.03


def test_neighbours_a_weighted_sum_explains_give_no_tables():
    found, samples = peers(8, non_monotone=False)
    result = pooled_fit(found, samples, DEFAULT)
    assert result.accepted and result.tables is None


def test_tables_are_served_when_the_pooled_weights_alone_do_not_beat_the_prior():
    # A prior on the one factor that acts monotonically: no weighted sum of the
    # seed's values ranks held-out peers better, tables learned from them do.
    prior = (*[0.3 / 9] * 6, 0.7, *[0.3 / 9] * 3)
    found, samples = peers(8, non_monotone=True)
    plain = pooled_fit(found, samples, prior, settings=NO_TABLES)
    assert not plain.accepted and plain.reason == "held-out AUC would fall"
    assert plain.holdout_auc_new < plain.holdout_auc_prior
    result = pooled_fit(found, samples, prior)
    assert result.accepted and result.tables is not None, result.reason
    assert result.reason == "tables beat the prior (weights alone did not)"
    # the held-out AUC reported is that of what is served: weights with tables
    assert result.holdout_auc_new > result.holdout_auc_prior + 0.1
    x, won = leads(20_000, seed=9, non_monotone=True)
    assert auc(result.weights, result.tables, x, won) > auc(prior, None, x, won) + 0.1


def test_the_prior_choice_carries_the_pooled_tables_and_a_rejected_own_fit_keeps_them():
    found, samples = peers(8, non_monotone=True)
    prior = prior_choice(found, "saas", neighbour_samples=samples)
    assert prior.method == "similar_clients" and prior.tables is not None
    assert prior.details[TABLES] == prior.tables.to_json()
    few = samples_of(*leads(12, seed=3, non_monotone=True))
    own = fit_weights(
        few, prior.weights, prior_method=prior.method, prior_tables=prior.tables
    )
    assert not own.accepted
    served = personalise(prior, own)
    assert served.tables == prior.tables and served.details[TABLES]


def test_own_weights_are_refitted_on_the_prior_tables():
    found, samples = peers(8, non_monotone=True)
    prior = prior_choice(found, "saas", neighbour_samples=samples)
    own = samples_of(*leads(120, seed=4, non_monotone=True))
    fit = fit_weights(
        own, prior.weights, prior_method=prior.method, prior_tables=prior.tables
    )
    assert fit.accepted, fit.reason
    # too few outcomes for tables of its own: weights alone, on the prior's tables
    assert fit.tables == prior.tables
    served = personalise(prior, fit)
    assert served.details["personalised"] and served.details[TABLES]
    x, won = leads(20_000, seed=8, non_monotone=True)
    on_seed_values = auc(fit.weights, None, x, won)
    assert auc(fit.weights, fit.tables, x, won) > on_seed_values + 0.03
