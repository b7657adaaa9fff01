"""A grouped design computes what the dense [one-hot(group) | features] would."""

import numpy as np
import pytest

from app.personalization.design import GroupedDesign, as_design
from app.personalization.numerics import newton


def dense(features: np.ndarray, group: np.ndarray) -> np.ndarray:
    labels = np.unique(group)
    return np.column_stack([(group[:, None] == labels).astype(float), features])


@pytest.mark.parametrize("shuffled", [False, True])
def test_products_equal_the_dense_designs(shuffled):
    rng = np.random.default_rng(7)
    group = np.repeat([3, 8, 11, 40], [5, 1, 9, 4])  # labels are not 0..k-1
    if shuffled:
        group = rng.permutation(group)
    features = rng.normal(size=(len(group), 6))
    theta, r, w = rng.normal(size=10), rng.normal(size=19), rng.random(19)
    design, full = GroupedDesign(features, group), dense(features, group)

    assert design.width == full.shape[1] == 10
    np.testing.assert_allclose(design @ theta, full @ theta, atol=1e-12)
    np.testing.assert_allclose(design.transpose_dot(r), full.T @ r, atol=1e-12)
    np.testing.assert_allclose(design.weighted_gram(w), (full.T * w) @ full, atol=1e-12)
    keep = np.r_[np.ones(4, bool), [True, False, True, False, False, True]]
    np.testing.assert_allclose(
        design.keep(keep).weighted_gram(w), (full[:, keep].T * w) @ full[:, keep]
    )
    with pytest.raises(ValueError):
        design.keep(~keep)


def test_a_plain_matrix_is_a_design_without_intercepts():
    x = np.arange(12.0).reshape(4, 3)
    design = as_design(x)
    assert design.groups == 0 and design.width == 3
    np.testing.assert_allclose(design.weighted_gram(np.ones(4)), x.T @ x)


def test_newton_from_the_base_rates_reaches_the_same_optimum_in_fewer_steps():
    rng = np.random.default_rng(2)
    group = np.repeat(np.arange(6), 120)
    x = rng.random((len(group), 4))
    offset = np.array([-3.0, -2.0, -1.0, 0.0, 1.0, -4.0])[group]
    y = (rng.random(len(group)) < 1 / (1 + np.exp(-(offset + x @ [2, 1, 0, 1])))) * 1.0
    s = np.ones(len(group))
    centre, penalty = (
        np.r_[np.zeros(6), np.ones(4)],
        np.r_[np.full(6, 1e-4), np.ones(4)],
    )
    calls = []

    class Counted(GroupedDesign):
        def weighted_gram(self, w):
            calls.append(1)
            return super().weighted_gram(w)

    design = Counted(x, group)
    from_base_rates = newton(design, y, s, centre, penalty)
    steps = len(calls)
    calls.clear()
    from_centre = newton(design, y, s, centre, penalty, start=centre)
    # the same optimum to the tolerance Newton stops at (CONVERGED_DECREMENT)
    np.testing.assert_allclose(from_base_rates, from_centre, atol=1e-5)
    assert steps < len(calls)
