"""Fitting value tables and weights together: the hat basis, shrinkage to the seed,
the ranking it promises, and what it learns in worlds unlike a weighted sum.

Leads are raw records read by the product's own `factor_values`; a world's truth
is a function of the raw lead (its status level, not the seed's status value), so
a non-monotone status or a negative effect is real, not built into the features.
"""

import time

import numpy as np
import pytest

from app.personalization.learning import fit_toward_prior
from app.personalization.numerics import roc_auc
from app.personalization.priors import DEFAULT
from app.personalization.value_tables import (
    N_COLUMNS,
    fit_coefficients,
    fit_tables,
    hat_basis,
    table_values,
    table_values_changed,
    tables_from_coefficients,
)
from app.scoring import FACTOR_KEYS, IDENTITY, KNOTS, ValueTables, factor_values

NOW = 1_800_000_000.0
STATUSES = ("", "unqualified", "new", "open", "in_progress", "qualified")
TITLES = ("", "Analyst", "Sales Manager", "Director of Sales", "CEO")
FIELDS = ("first_name", "last_name", "phone", "city", "country", "company", "industry")
# Conversion value of each status (index as STATUSES): "open" best, qualified poor.
OPEN_BEST = np.array([0.0, 0.1, 0.6, 1.0, 0.6, 0.15])
STATUS, COMPLETE = (
    FACTOR_KEYS.index(k) for k in ("lead_status", "profile_completeness")
)
PRIOR = np.array(DEFAULT)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def raw_leads(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n raw leads (warmer leads are more complete, engaged and senior), as the
    product reads them: their ten seed values, and each lead's status index."""
    warmth = rng.normal(size=n)
    status = 1 + np.digitize(0.7 * warmth + rng.normal(size=n), [-1.3, 0, 0.7, 1.4])
    status[rng.random(n) < 0.1] = 0
    title = 1 + np.digitize(0.4 * warmth + rng.normal(size=n), [0.1, 0.9, 1.5])
    title[rng.random(n) < 0.2] = 0
    opens = rng.poisson(np.exp(0.2 + 0.6 * warmth))
    opens[rng.random(n) < 0.35] = 0
    clicks = rng.binomial(opens, 0.15)
    filled = rng.random((n, len(FIELDS))) < sigmoid(0.4 + 0.6 * warmth)[:, None]
    has_email = rng.random(n) < 0.92
    days = rng.integers(0, 120, n)
    deals = rng.random(n) < sigmoid(-2 + 0.7 * warmth)
    notes_days = np.where(rng.random(n) < 0.3, 5, 60)
    rows = []
    for i in range(n):
        lead = {field: "x" for field, on in zip(FIELDS, filled[i], strict=True) if on}
        lead |= {
            "email": f"lead{i}@corp.example" if has_email[i] else "",
            "job_title": TITLES[title[i]],
            "lead_status": STATUSES[status[i]],
            "email_open_count": int(opens[i]),
            "email_click_count": int(clicks[i]),
            "create_date": int((NOW - days[i] * 86_400 - 3600) * 1000),
            "num_deals": int(deals[i]),
            "notes_last_updated": int((NOW - notes_days[i] * 86_400) * 1000),
        }
        rows.append(factor_values(lead, NOW))
    return np.array(rows), status


def truth(world: str, x: np.ndarray, status: np.ndarray) -> np.ndarray:
    """Each lead's conversion probability: ~20 % base rate, true AUC near 0.8."""
    weights = PRIOR.copy()
    if world == "non_monotone":  # the status level counts, not the seed's order
        weights[STATUS] = 0.35 * weights.sum() / 0.65
        z = x @ weights + weights[STATUS] * (OPEN_BEST[status] - x[:, STATUS])
    elif world == "negative":  # completeness lowers conversion, all else known
        weights[COMPLETE] = 0.0
        z = x @ weights - 0.3 * x[:, COMPLETE]
    else:
        z = x @ weights
    z = 1.7 * (z - z.mean()) / z.std()
    return sigmoid(z - 1.75)


def expected_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """AUC against true probabilities: each lead is positive with weight p."""
    return roc_auc(
        np.r_[scores, scores],
        np.r_[np.ones(len(p)), np.zeros(len(p))] > 0,
        np.r_[p, 1 - p],
    )


def best_weighted_sum(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Non-negative weights fitted on the held-out leads' own truth: the ceiling of
    a weighted sum of seed values, given every advantage."""
    weights = fit_toward_prior(
        np.r_[x, x],
        np.r_[np.ones(len(p)), np.zeros(len(p))] > 0,
        np.r_[p, 1 - p],
        tuple(PRIOR),
        1e-3,
        0.0,
    )
    return np.asarray(weights)


@pytest.fixture(scope="module")
def worlds() -> dict:
    """Per world: 3,000 leads with outcomes to fit on, 20,000 held out with truth."""
    out = {}
    for seed, world in enumerate(("non_monotone", "negative", "our_model")):
        rng = np.random.default_rng(100 + seed)
        x, status = raw_leads(rng, 23_000)
        p = truth(world, x, status)
        y = rng.random(len(p)) < p
        out[world] = (x[:3000], y[:3000], x[3000:], p[3000:])
    return out


def test_hat_basis_interpolates_each_factor_between_its_knots() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((500, 10))
    x[:50] = 0.0
    x[50:100] = 1.0
    basis = hat_basis(x)
    assert basis.shape == (500, N_COLUMNS) and (basis >= 0).all()
    start = 0
    for k, key in enumerate(FACTOR_KEYS):
        knots = np.array(KNOTS[key])
        block = basis[:, start : start + len(knots)]
        assert block.sum(axis=1) == pytest.approx(np.ones(500))
        # The knots as coefficients give back the seed value (clamped to the knots).
        assert block @ knots == pytest.approx(np.clip(x[:, k], knots[0], knots[-1]))
        assert ((block > 0).sum(axis=1) <= 2).all()
        start += len(knots)
    status = hat_basis(np.full((1, 10), 0.6))[0, 2 * 4 + 4 : 2 * 4 + 4 + 6]
    assert status == pytest.approx([0, 0, 0, 0.5, 0.5, 0])


def test_a_huge_penalty_gives_the_seed_values_and_the_prior(worlds) -> None:
    x, y, _, _ = worlds["non_monotone"]
    weights, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, 1e9, 0.01)
    assert table_values_changed(IDENTITY, tables) < 1e-6
    assert weights == pytest.approx(DEFAULT, abs=1e-6)


def test_the_served_score_ranks_leads_as_the_fitted_logit(worlds) -> None:
    x, y, held_out, _ = worlds["non_monotone"]
    theta = fit_coefficients(x, y, np.ones(len(y)), DEFAULT, 1.0)
    logit = hat_basis(held_out) @ theta[1:]
    weights, tables = tables_from_coefficients(theta[1:], 0.0)
    served = table_values(held_out, tables) @ np.asarray(weights)
    slope, intercept = np.polyfit(logit, served, 1)
    assert slope > 0
    assert np.abs(intercept + slope * logit - served).max() < 1e-9
    # With a weight floor the flat or weak factors weigh a little more: nearly so.
    weights, tables = tables_from_coefficients(theta[1:], 0.01)
    floored = table_values(held_out, tables) @ np.asarray(weights)
    ranks = [np.argsort(np.argsort(v)) for v in (logit, floored)]
    assert np.corrcoef(*ranks)[0, 1] > 0.99


def test_vectorised_tables_agree_with_the_engine_per_lead(worlds) -> None:
    x, y, held_out, _ = worlds["negative"]
    _, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, 1.0, 0.01)
    expected = np.array([tables.apply(tuple(row)) for row in held_out[:500]])
    assert table_values(held_out[:500], tables) == pytest.approx(expected, abs=1e-12)


def test_recovers_a_status_whose_middle_level_converts_best(worlds) -> None:
    x, y, _, _ = worlds["non_monotone"]
    for l2 in (0.5, 16.0):
        _, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, l2, 0.01)
        table = dict(
            zip(KNOTS["lead_status"], tables.tables["lead_status"], strict=True)
        )
        assert table[0.5] > table[1.0] + 0.3, l2
        assert table[0.5] > table[0.7] and table[0.5] > table[0.3], l2


def test_learns_that_completeness_lowers_conversion(worlds) -> None:
    x, y, _, _ = worlds["negative"]
    for l2 in (0.5, 16.0):
        _, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, l2, 0.01)
        table = tables.tables["profile_completeness"]
        # Knots 3/9, 5/9, 7/9, 1: where the leads are, more complete converts less.
        assert table[1] > table[2] > table[3], l2
        assert table[4] < table[1] - 0.3, l2


def test_tables_beat_the_best_weighted_sum_where_status_is_not_monotone(worlds):
    x, y, held_out, p = worlds["non_monotone"]
    weights, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, 0.5, 0.01)
    with_tables = expected_auc(table_values(held_out, tables) @ np.asarray(weights), p)
    same_data = fit_toward_prior(x, y, np.ones(len(y)), DEFAULT, 0.5, 0.01)
    ceiling = best_weighted_sum(held_out, p)
    assert with_tables > expected_auc(held_out @ ceiling, p) + 0.05
    assert with_tables > expected_auc(held_out @ np.asarray(same_data), p) + 0.05


def test_tables_cost_little_where_a_weighted_sum_is_right(worlds) -> None:
    x, y, held_out, p = worlds["our_model"]
    weights, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, 0.5, 0.01)
    with_tables = expected_auc(table_values(held_out, tables) @ np.asarray(weights), p)
    same_data = fit_toward_prior(x, y, np.ones(len(y)), DEFAULT, 0.5, 0.01)
    assert with_tables > expected_auc(held_out @ np.asarray(same_data), p) - 0.01


def test_a_reversed_binary_factor_expresses_a_negative_effect() -> None:
    rng = np.random.default_rng(3)
    x, _ = raw_leads(rng, 3000)
    company = FACTOR_KEYS.index("has_company_match")
    p = sigmoid(-1.5 + 2.0 * x[:, STATUS] - 1.5 * x[:, company])
    y = rng.random(len(p)) < p
    weights, tables = fit_tables(x, y, np.ones(len(y)), DEFAULT, 1.0, 0.01)
    assert tables.tables["has_company_match"] == (1.0, 0.0)
    assert weights[company] > 0.1


def test_nothing_to_learn_gives_none() -> None:
    assert tables_from_coefficients(np.zeros(N_COLUMNS), 0.01) is None
    empty = np.zeros((0, 10))
    assert fit_tables(empty, np.zeros(0, bool), np.zeros(0), DEFAULT, 1.0, 0.01) is None


def test_table_values_changed_is_the_largest_move_at_any_knot() -> None:
    status = ValueTables({"lead_status": (0.0, 0.1, 0.3, 0.9, 0.7, 1.0)})
    assert table_values_changed(IDENTITY, IDENTITY) == 0.0
    assert table_values_changed(IDENTITY, status) == pytest.approx(0.4)
    assert table_values_changed(status, IDENTITY) == pytest.approx(0.4)
    company = ValueTables({"has_company_match": (1.0, 0.0)})
    assert table_values_changed(status, company) == pytest.approx(1.0)


def test_a_fit_on_2000_outcomes_takes_well_under_a_second(worlds) -> None:
    x, y, _, _ = worlds["non_monotone"]
    best = min(
        _timed(
            lambda: fit_tables(x[:2000], y[:2000], np.ones(2000), DEFAULT, 1.0, 0.01)
        )
        for _ in range(3)
    )
    assert best < 1.0


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start
