"""Pooling similar clients' outcomes into one estimate, and serving it."""

import numpy as np
import pytest

from app.personalization.learning import FitSettings
from app.personalization.numerics import newton_nonneg, nonneg_posterior_mean, roc_auc
from app.personalization.outcomes import REWARDS, Sample
from app.personalization.pooling import cap_per_day, pooled_fit, screen
from app.personalization.priors import DEFAULT, PRIORS
from app.personalization.selection import choose_weights, prior_choice
from app.personalization.similarity import Neighbour

TRUE = np.array([0.02, 0.02, 0.05, 0.05, 0.30, 0.05, 0.30, 0.05, 0.10, 0.06])
OTHER = np.array([0.30, 0.30, 0.02, 0.02, 0.02, 0.02, 0.02, 0.10, 0.10, 0.10])


def outcomes(n: int, seed: int, truth=TRUE, base: float = -1.2) -> list[Sample]:
    """Outcomes drawn from a logistic of the true weights' score."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    z = x @ truth
    won = rng.random(n) < 1 / (1 + np.exp(-(15 * (z - z.mean()) + base)))
    return [
        Sample(
            tuple(x[i]), REWARDS["converted" if won[i] else "ignored"], f"{seed}-{i}"
        )
        for i in range(n)
    ]


def group(count: int, n: int = 200, truth=TRUE):
    found = [Neighbour(f"c{i}", 0.8, DEFAULT, n) for i in range(count)]
    # different base rates per client: the pooled fit gives each its own intercept
    samples = {
        f"c{i}": outcomes(n, seed=i, truth=truth, base=-2.0 + 0.3 * i)
        for i in range(count)
    }
    return found, samples


def auc_on_fresh(weights) -> float:
    fresh = outcomes(4000, seed=99)
    x = np.array([s.values for s in fresh])
    y = np.array([s.reward > 0 for s in fresh])
    return roc_auc(x @ np.asarray(weights), y)


def test_pooled_fit_learns_from_all_similar_clients_and_beats_the_prior():
    found, samples = group(5)
    result = pooled_fit(found, samples, DEFAULT)
    assert result.accepted, result.reason
    assert (result.n_clients, result.n_samples) == (5, 1000)
    assert auc_on_fresh(result.weights) > auc_on_fresh(DEFAULT) + 0.02
    assert result.holdout_auc_new > result.holdout_auc_prior
    w = np.array(result.weights)
    assert np.isfinite(w).all() and w.sum() == pytest.approx(1.0)
    assert (w >= FitSettings().floor - 1e-12).all()


def test_pooled_fit_is_deterministic():
    found, samples = group(5)
    assert pooled_fit(found, samples, DEFAULT) == pooled_fit(
        list(found), dict(samples), DEFAULT
    )


def test_pooled_fit_needs_five_similar_clients_with_outcomes():
    found, samples = group(5)
    del samples["c4"]
    result = pooled_fit(found, samples, DEFAULT)
    assert not result.accepted and result.weights is None
    assert result.reason == "needs outcomes of 5 similar clients"


def test_pooled_fit_is_not_served_when_it_ranks_held_out_clients_worse():
    rng = np.random.default_rng(5)
    found = [Neighbour(f"c{i}", 0.8, DEFAULT, 200) for i in range(5)]
    samples = {
        n.client_id: [
            Sample(tuple(rng.random(10)), 1.0 if rng.random() < 0.3 else -0.5)
            for _ in range(200)
        ]
        for n in found
    }
    settings = FitSettings(noise_margin=0.0, tolerance=-0.05)  # must gain 0.05 AUC
    result = pooled_fit(found, samples, DEFAULT, settings=settings)
    assert not result.accepted
    assert result.reason == "held-out AUC would fall"


def test_one_large_client_does_not_outvote_the_others():
    found, samples = group(5)
    big = Neighbour("big", 0.8, DEFAULT, 20000)
    samples["big"] = outcomes(20000, seed=7, truth=OTHER)
    settings = FitSettings(noise_margin=float("inf"))  # compare estimates only
    result = pooled_fit([*found, big], samples, DEFAULT, settings=settings)
    shares = dict(result.contributors)
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-3)
    assert shares["big"] <= min(shares[n.client_id] for n in found)
    assert auc_on_fresh(result.weights) > auc_on_fresh(DEFAULT) + 0.02


def invented(n: int, seed: int, factor: int = 2) -> list[Sample]:
    """Outcomes a liar makes up: whenever `factor` is 1 the lead converted."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    x[:, factor] = rng.random(n) < 0.5
    return [
        Sample(tuple(v), REWARDS["converted" if v[factor] else "ignored"], f"x{i}")
        for i, v in enumerate(x)
    ]


@pytest.mark.parametrize("attackers", [1, 2])
def test_clients_inventing_many_outcomes_do_not_move_the_estimate(attackers):
    found, samples = group(6, n=300)
    honest = pooled_fit(found, samples, DEFAULT)
    liars = [Neighbour(f"x{i}", 0.8, DEFAULT, 1000) for i in range(attackers)]
    for i, liar in enumerate(liars):
        samples[liar.client_id] = invented(1000, seed=50 + i)
    attacked = pooled_fit([*found, *liars], samples, DEFAULT)
    assert attacked.accepted, attacked.reason
    moved = np.abs(np.subtract(attacked.weights, honest.weights)).sum()
    assert moved <= 0.05
    assert all(dict(attacked.contributors)[liar.client_id] == 0 for liar in liars)


def test_a_peer_counts_at_most_as_much_as_the_median_peer():
    found, samples = group(5)
    found.append(Neighbour("many", 0.8, DEFAULT, 2000))
    samples["many"] = outcomes(2000, seed=8)  # honest, just more of them
    shares = dict(pooled_fit(found, samples, DEFAULT).contributors)
    assert shares["many"] == pytest.approx(shares["c0"], abs=1e-3)


def test_screen_keeps_agreeing_fits_and_drops_far_ones():
    fits = np.array([[0.5, 0.5], [0.52, 0.48], [0.48, 0.52], [0.51, 0.49], [1, 0]])
    trust = screen(fits)
    assert trust[:4].tolist() == [1.0, 1.0, 1.0, 1.0] and trust[4] == 0.0


def test_cap_per_day_keeps_the_first_outcomes_of_each_day():
    rows = [("d1", Sample((0.0,) * 10, 1.0, f"a{i}")) for i in range(5)]
    rows += [("d2", Sample((0.0,) * 10, 1.0, f"b{i}")) for i in range(2)]
    kept = cap_per_day(rows, per_day=3)
    assert [s.key for s in kept] == ["a0", "a1", "a2", "b0", "b1"]


def test_newton_nonneg_leaves_every_intercept_free():
    rng = np.random.default_rng(1)
    groups = np.repeat([0, 1], 300)
    x = rng.random((600, 2))
    logit = np.where(groups == 0, -3.0, -1.0) + 2.0 * x[:, 0]
    y = rng.random(600) < 1 / (1 + np.exp(-logit))
    design = np.column_stack([groups == 0, groups == 1, x]).astype(float)
    theta = newton_nonneg(
        design, y, np.ones(600), np.zeros(4), np.full(4, 1e-4), intercepts=2
    )
    assert theta[0] < theta[1] < 0  # both intercepts negative, as in the data
    assert theta[2] > 0 and theta[3] >= 0


def test_pooled_fit_counts_each_outcome_once_whatever_its_reward():
    # a bounce weighs twice an ignore in a client's own refit; pooled, both are lost
    found, samples = group(5)
    relabelled = {
        cid: [
            Sample(s.values, REWARDS["bounced"] if s.reward < 0 else s.reward, s.key)
            for s in rows
        ]
        for cid, rows in samples.items()
    }
    assert pooled_fit(found, relabelled, DEFAULT) == pooled_fit(found, samples, DEFAULT)


def test_newton_nonneg_converges_from_a_saturated_start():
    # the prior's centre makes every score large: the sigmoid saturates, the
    # Hessian is nearly singular, and an uncapped Newton step overshoots
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(5), 200)
    x = rng.random((1000, 10))
    logit = -8.0 + 0.5 * groups + x @ np.full(10, 1.5)
    y = rng.random(1000) < 1 / (1 + np.exp(-logit))
    design = np.column_stack([groups[:, None] == np.arange(5), x]).astype(float)
    centre = np.r_[np.zeros(5), np.full(10, 3.0)]
    penalty = np.r_[np.full(5, 1e-4), np.full(10, 1.0)]
    s = np.ones(1000)
    theta = newton_nonneg(design, y, s, centre, penalty, intercepts=5)
    p = 1 / (1 + np.exp(-(design @ theta)))
    grad = design.T @ (s * (p - y)) + penalty * (theta - centre)
    free = np.r_[np.ones(5, bool), theta[5:] > 0]
    assert np.abs(grad[free]).max() < 1e-4  # stationary in the free coefficients
    assert (grad[~free] >= -1e-6).all()  # and no held coefficient wants to grow


def logistic_data(n: int, beta: np.ndarray, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.random((n, len(beta)))
    y = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + x @ beta)))
    design = np.column_stack([np.ones(n), x])
    width = len(beta) + 1
    return design, y, np.ones(n), np.zeros(width), np.r_[1e-4, np.full(width - 1, 1.0)]


def test_posterior_mean_is_normalised_deterministic_and_finds_the_truth():
    beta = np.array([3.0, 2.0, 1.0, 0.5])
    data = logistic_data(20_000, beta, seed=3)
    mean = nonneg_posterior_mean(*data)
    assert mean is not None
    assert (mean >= 0).all() and np.isclose(mean.sum(), 1.0)
    assert np.abs(mean - beta / beta.sum()).max() < 0.03
    assert np.array_equal(mean, nonneg_posterior_mean(*data))


def test_posterior_mean_keeps_an_unsupported_factor_small_but_not_at_zero():
    # the constrained optimum puts a factor without effect on exactly zero, or
    # above it, depending on the draw; the mean weighs what the data allow
    beta = np.array([3.0, 2.0, 0.0])
    means, optima = [], []
    for seed in range(6):
        design, y, s, centre, penalty = logistic_data(400, beta, seed)
        means.append(nonneg_posterior_mean(design, y, s, centre, penalty)[2])
        theta = newton_nonneg(design, y, s, centre, penalty)[1:]
        optima.append(theta[2] / theta.sum())
    assert all(0 < m < 0.15 for m in means)
    assert min(optima) == 0.0


def test_posterior_mean_gives_up_when_no_draw_is_non_negative():
    design, y, s, centre, penalty = logistic_data(5000, np.array([3.0, -4.0]), 4)
    assert nonneg_posterior_mean(design, y, s, centre, penalty) is None


def test_prior_choice_serves_the_pooled_fit_of_similar_clients():
    found, samples = group(5)
    choice = prior_choice(found, "legal", neighbour_samples=samples)
    assert choice.method == "similar_clients"
    assert choice.details["pooled"] is True
    assert choice.details["pooled_outcomes"] == 1000
    assert choice.weights == pooled_fit(found, samples, PRIORS["legal"]).weights
    served = choose_weights(
        pinned=None,
        own_fit=None,
        neighbours=found,
        vertical="legal",
        neighbour_samples=samples,
    )
    assert served.weights == choice.weights


def test_prior_choice_falls_back_when_the_pooled_fit_is_rejected():
    found, samples = group(5)
    del samples["c0"]
    choice = prior_choice(found, "legal", neighbour_samples=samples)
    assert choice.method == "industry_prior"
    assert choice.weights == PRIORS["legal"]
    assert choice.details["pooled_rejected"] == "needs outcomes of 5 similar clients"
    assert prior_choice(found, None, neighbour_samples=samples).method == "default"


def test_prior_choice_without_samples_combines_learned_weights():
    found, _ = group(5)
    choice = prior_choice(found, "legal")
    assert choice.method == "similar_clients"
    assert choice.weights == pytest.approx(DEFAULT)
    assert "pooled" not in choice.details
