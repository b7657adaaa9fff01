"""Learning weights from feedback: AUC, the gate, the fit, the published weights."""

import math

import numpy as np
import pytest

from app.personalization.learning import (
    FitSettings,
    cap_change,
    fit_toward_prior,
    fit_weights,
    fold_of,
    to_weights,
)
from app.personalization.numerics import roc_auc
from app.personalization.outcomes import REWARDS, Sample, sample_from_feedback
from app.personalization.priors import DEFAULT

TRUE = np.array([0.02, 0.02, 0.05, 0.05, 0.30, 0.05, 0.30, 0.05, 0.10, 0.06])


def world(n: int, seed: int = 3, truth: np.ndarray = TRUE) -> list[Sample]:
    """Outcomes drawn from a logistic of the true weights' score."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    z = x @ truth
    won = rng.random(n) < 1 / (1 + np.exp(-(15 * (z - z.mean()) - 1.2)))
    return [
        Sample(tuple(x[i]), REWARDS["converted" if won[i] else "ignored"], f"lead{i}")
        for i in range(n)
    ]


def test_rewards_are_the_seeds():
    assert dict(REWARDS) == {
        "converted": 1.0,
        "replied": 0.5,
        "clicked": 0.3,
        "ignored": -0.5,
        "bounced": -1.0,
    }


@pytest.mark.parametrize(
    ("scores", "labels", "weights", "expected"),
    [
        ([1, 2, 3, 4], [0, 0, 1, 1], None, 1.0),
        ([4, 3, 2, 1], [0, 0, 1, 1], None, 0.0),
        ([1, 1, 1, 1], [0, 1, 0, 1], None, 0.5),
        ([1, 1, 2, 3], [0, 1, 0, 1], None, 0.625),  # one tied pair counts 1/2
        ([1, 2, 3], [1, 0, 1], [1, 1, 3], 0.75),  # weighted pairs
        ([0.2, 0.2, 0.9], [1, 0, 0], [2, 1, 1], 0.25),
    ],
)
def test_roc_auc(scores, labels, weights, expected):
    assert roc_auc(scores, labels, weights) == pytest.approx(expected)


def test_roc_auc_matches_the_pairwise_definition():
    rng = np.random.default_rng(0)
    s = rng.integers(0, 6, 60).astype(float)
    y = rng.random(60) < 0.4
    w = rng.random(60)
    num = den = 0.0
    for i in np.flatnonzero(y):
        for j in np.flatnonzero(~y):
            pair = w[i] * w[j]
            den += pair
            num += pair * (1.0 if s[i] > s[j] else 0.5 if s[i] == s[j] else 0.0)
    assert roc_auc(s, y, w) == pytest.approx(num / den)


@pytest.mark.parametrize("labels", [[1, 1], [0, 0]])
def test_roc_auc_needs_both_classes(labels):
    with pytest.raises(ValueError, match="both"):
        roc_auc([0.1, 0.2], labels)


@pytest.mark.parametrize(
    ("values", "action", "message"),
    [
        ((0.5,) * 10, "won", "action"),
        ((0.5,) * 9, "converted", "10 values"),
        ((0.5,) * 9 + (1.5,), "converted", "between 0 and 1"),
        ((0.5,) * 9 + (math.nan,), "converted", "between 0 and 1"),
        ((0.5,) * 9 + ("x",), "converted", "numbers"),
    ],
)
def test_sample_from_feedback_rejects_bad_input(values, action, message):
    with pytest.raises(ValueError, match=message):
        sample_from_feedback(values, action)


def test_sample_from_feedback_carries_only_values_and_reward():
    sample = sample_from_feedback(
        [1, 0, 1, 0, 0.5, 0.3, 0, 0.7, 0.6, 0.2], "clicked", "k"
    )
    assert sample == Sample(
        (1.0, 0.0, 1.0, 0.0, 0.5, 0.3, 0.0, 0.7, 0.6, 0.2), 0.3, "k"
    )


@pytest.mark.parametrize(
    ("n", "positives", "accepted"),
    [(29, 10, False), (30, 4, False), (30, 26, False), (30, 5, True), (30, 25, True)],
)
def test_personalises_only_from_30_outcomes_with_5_of_each_class(
    n, positives, accepted
):
    rng = np.random.default_rng(n + positives)
    samples = [
        Sample(tuple(rng.random(10)), 1.0 if i < positives else -0.5, f"k{i}")
        for i in range(n)
    ]
    # isolate the data gate
    settings = FitSettings(noise_margin=math.inf, early_outcomes=0)
    result = fit_weights(samples, DEFAULT, settings=settings)
    assert result.accepted is accepted
    assert (result.n_samples, result.n_pos) == (n, positives)
    if not accepted:
        assert result.weights == DEFAULT
        assert "needs 30 outcomes" in result.reason


def test_learning_moves_toward_the_truth_and_beats_the_prior():
    samples = world(3000)
    result = fit_weights(samples, DEFAULT, settings=FitSettings(max_change=None))
    assert result.accepted
    fresh = world(4000, seed=99)
    x = np.array([s.values for s in fresh])
    y = np.array([s.reward > 0 for s in fresh])
    assert roc_auc(x @ np.array(result.weights), y) > roc_auc(x @ np.array(DEFAULT), y)
    assert (
        np.abs(np.array(result.weights) - TRUE).sum()
        < np.abs(np.array(DEFAULT) - TRUE).sum() / 2
    )


def test_published_weights_are_finite_non_negative_floored_capped_and_sum_to_1():
    settings = FitSettings()
    for seed in range(5):
        result = fit_weights(world(400, seed), DEFAULT, settings=settings)
        w = np.array(result.weights)
        assert np.isfinite(w).all()
        assert w.sum() == pytest.approx(1.0)
        assert (w >= settings.floor - 1e-12).all()
        assert np.abs(w - np.array(DEFAULT)).max() <= settings.max_change + 1e-9


def test_fit_is_deterministic_and_records_its_figures():
    samples = world(200)
    first = fit_weights(samples, DEFAULT, prior_method="industry_prior")
    again = fit_weights(list(samples), DEFAULT, prior_method="industry_prior")
    assert first == again
    assert first.method == "industry_prior"
    assert first.holdout_auc_new is not None and first.holdout_auc_prior is not None


def test_a_refit_that_is_worse_on_held_out_data_is_not_published():
    # Outcomes that reward the opposite of what the data "teaches" on training
    # folds cannot exist, so make the data uninformative and demand a clear win.
    rng = np.random.default_rng(5)
    samples = [
        Sample(tuple(rng.random(10)), 1.0 if rng.random() < 0.3 else -0.5, f"k{i}")
        for i in range(300)
    ]
    # must gain 0.05 AUC; weights alone (value tables have their own tests)
    settings = FitSettings(noise_margin=0.0, tolerance=-0.05, min_table_class=10**6)
    result = fit_weights(samples, DEFAULT, settings=settings)
    assert not result.accepted
    assert result.weights == DEFAULT
    assert result.reason == "held-out AUC would fall (vs current)"


def test_unknown_prior_method_is_an_error():
    with pytest.raises(ValueError, match="custom"):
        fit_weights(world(100), DEFAULT, prior_method="custom")


def test_folds_are_stratified_and_stable():
    samples = world(103)
    folds = fold_of(samples, 5)
    positive = np.array([s.reward > 0 for s in samples])
    for k in range(5):
        assert positive[folds == k].any() and (~positive[folds == k]).any()
    shuffled = samples[::-1]
    again = fold_of(shuffled, 5)[::-1]
    assert (folds == again).all()


@pytest.mark.parametrize(
    ("beta", "expected"),
    [
        ([2.0, 0, 0, 0, 0, 0, 0, 0, 0, 2.0], [0.5] + [0.0] * 8 + [0.5]),
        ([1.0, -3, 0, 0, 0, 0, 0, 0, 0, 1.0], [0.5] + [0.0] * 8 + [0.5]),
    ],
)
def test_to_weights_clips_and_normalises(beta, expected):
    assert to_weights(np.array(beta), 0.0) == pytest.approx(expected)
    floored = to_weights(np.array(beta), 0.01)
    assert min(floored) == pytest.approx(0.01)
    assert sum(floored) == pytest.approx(1.0)


def test_to_weights_without_any_positive_effect():
    assert to_weights(np.full(10, -1.0), 0.01) is None


def test_cap_change_limits_every_factor_and_keeps_the_sum():
    new = (0.55,) + (0.05,) * 9
    capped = cap_change(new, DEFAULT, 0.05, 0.01)
    assert sum(capped) == pytest.approx(1.0)
    assert max(abs(a - b) for a, b in zip(capped, DEFAULT, strict=True)) <= 0.05 + 1e-9
    assert capped[0] == pytest.approx(0.15)


def test_fit_toward_prior_falls_back_to_the_constrained_optimum():
    # a strongly harmful factor: no posterior draw is non-negative, yet the
    # weights still come out (the harmful factor on the floor)
    rng = np.random.default_rng(4)
    x = rng.random((5000, 2))
    y = rng.random(5000) < 1 / (1 + np.exp(-(-2.0 + x @ np.array([3.0, -4.0]))))
    weights = fit_toward_prior(x, y, np.ones(5000), (0.5, 0.5), l2=1.0, floor=0.01)
    assert weights == pytest.approx((0.99, 0.01))
