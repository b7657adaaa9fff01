"""A refit serves value tables only where they beat weights alone on held-out
outcomes, and judges a version with tables by its tables."""

import numpy as np

from app.personalization.learning import fit_weights
from app.personalization.numerics import roc_auc
from app.personalization.outcomes import Sample
from app.personalization.priors import DEFAULT
from app.personalization.value_tables import table_values

STATUS = 5
STATUS_LEVELS = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 1.0])


def leads(n: int, seed: int, non_monotone: bool) -> tuple[np.ndarray, np.ndarray]:
    """Seed values of random leads and whether each converted. Non-monotone:
    "open" (0.5) converts best and "qualified" (1.0) worst, as the status goes."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    x[:, STATUS] = rng.choice(STATUS_LEVELS, n)
    if non_monotone:
        status_effect = 3.0 - 10.0 * (x[:, STATUS] - 0.5) ** 2
    else:
        status_effect = 2.5 * x[:, STATUS]
    z = status_effect + 2.0 * x[:, 6] - 3.0
    return x, rng.random(n) < 1 / (1 + np.exp(-z))


def samples_of(x: np.ndarray, won: np.ndarray) -> list[Sample]:
    return [
        Sample(tuple(x[i]), 1.0 if won[i] else -0.5, f"k{i}", arrival=i + 1)
        for i in range(len(x))
    ]


def served_auc(result, x: np.ndarray, won: np.ndarray) -> float:
    values = x if result.tables is None else table_values(x, result.tables)
    return roc_auc(values @ np.asarray(result.weights), won)


def test_non_monotone_status_gets_a_table_that_ranks_open_first():
    x, won = leads(1500, seed=11, non_monotone=True)
    result = fit_weights(samples_of(x, won), DEFAULT)
    assert result.accepted and result.tables is not None
    table = result.tables.tables["lead_status"]
    assert table[3] > table[5]  # open above qualified
    test_x, test_won = leads(20_000, seed=12, non_monotone=True)
    plain = roc_auc(test_x @ np.asarray(DEFAULT), test_won)
    assert served_auc(result, test_x, test_won) > plain + 0.05


def test_where_weights_suffice_no_table_is_served():
    x, won = leads(1500, seed=21, non_monotone=False)
    result = fit_weights(samples_of(x, won), DEFAULT)
    assert result.accepted and result.tables is None


def test_a_version_with_tables_is_judged_with_its_tables():
    x, won = leads(1500, seed=31, non_monotone=True)
    samples = samples_of(x, won)
    first = fit_weights(samples[:1000], DEFAULT)
    assert first.tables is not None
    later = fit_weights(
        samples,
        DEFAULT,
        previous=first.weights,
        previous_tables=first.tables,
        previous_seen_until=first.fitted_through,
    )
    assert later.judged_against == "current" and later.judged_outcomes == 500
    # judged with its tables, the current version ranks the new outcomes well
    assert later.holdout_auc_prior > 0.7
    assert later.accepted and later.tables is not None
