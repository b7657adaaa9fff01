"""From logistic coefficients to scoring weights, and back.

Scoring weights are non-negative, sum to 1 and keep every factor visible (a
floor); logistic coefficients live on the data's scale. These are the mappings
between the two that every fit (weights alone, weights with value tables,
pooled) shares.
"""

import numpy as np

from app.personalization.design import GroupedDesign
from app.personalization.numerics import newton
from app.personalization.priors import Weights


def prior_scale(x: np.ndarray, y: np.ndarray, s: np.ndarray, prior: Weights) -> float:
    """How steeply the prior's score separates outcomes, in logistic units.

    Scoring weights sum to 1 while logistic coefficients live on the data's scale;
    the prior is therefore centred at `scale * prior`, where `scale` is fitted on
    the same data (a two-parameter logistic regression on the prior's score).
    """
    # One intercept (a group of every row, so Newton starts it at the base rate).
    z = GroupedDesign((x @ np.asarray(prior))[:, None], np.zeros(len(x), dtype=int))
    theta = newton(z, y, s, np.zeros(2), np.array([1e-4, 1e-2]))
    return max(float(theta[1]), 0.0)


def to_weights(beta: np.ndarray, floor: float) -> Weights | None:
    """max(beta, 0) normalised to 1; factors below `floor` are raised to it.

    Only the factors under the floor move; the others give up the difference in
    proportion, so the floor keeps every factor visible without blending the
    learned weights toward uniform.
    """
    clipped = np.maximum(np.asarray(beta, dtype=float), 0.0)
    total = clipped.sum()
    if not total > 0 or not np.isfinite(total):
        return None
    weights = clipped / total
    low = np.zeros(len(weights), dtype=bool)
    for _ in range(len(weights)):
        low |= weights < floor
        rest = weights[~low].sum()
        if rest <= 0:
            return tuple(1.0 / len(weights) for _ in weights)
        weights = np.where(low, floor, weights * (1.0 - floor * low.sum()) / rest)
        if not (weights[~low] < floor).any():
            break
    return tuple(float(v) for v in weights)


def cap_change(new: Weights, previous: Weights, cap: float, floor: float) -> Weights:
    """The weights closest to `new` with |w - previous| <= cap, w >= floor, sum 1.

    Found by shifting all weights by one constant and clipping into each factor's
    allowed interval; the sum is monotone in the shift, so bisection finds it.
    """
    prev = np.asarray(previous, dtype=float)
    low = np.maximum(prev - cap, floor)
    high = np.maximum(prev + cap, low)
    target = np.asarray(new, dtype=float)
    lo, hi = -1.0, 1.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if np.clip(target + mid, low, high).sum() > 1.0:
            hi = mid
        else:
            lo = mid
    result = np.clip(target + (lo + hi) / 2, low, high)
    return tuple(float(v) for v in result / result.sum())
