"""Learning a client's weights from outcome feedback (DESIGN §5).

A weighted logistic regression on the ten factor values recorded at scoring time,
label = reward > 0 and sample weight = |reward|, with an L2 penalty that pulls the
coefficients toward the prior (similar clients -> industry prior -> default). The
coefficients are mapped back to scoring weights (max(beta, 0), normalised, a floor
per factor, a cap on the change per refit), and the result ships only when a
held-out check does not get worse. With no data the answer is the prior itself, so
a client is never worse off for having given little feedback.

A sample is only (ten factor values, reward) plus an opaque key for the split: lead
PII never reaches this layer.
"""

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from app.personalization.priors import Weights
from app.scoring import FACTOR_KEYS

REWARDS: Mapping[str, float] = MappingProxyType(
    {"converted": 1.0, "replied": 0.5, "clicked": 0.3, "ignored": -0.5, "bounced": -1.0}
)
"""Feedback action -> reward (the seed's API reference; clicked is +0.3)."""

N_FACTORS = len(FACTOR_KEYS)


@dataclass(frozen=True, slots=True)
class Sample:
    """One outcome: the lead's ten factor values when it was scored, and the reward.

    `key` is an opaque, stable id (the keyed hash of the lead id) used only to put
    the sample on the same side of the held-out split at every refit.
    """

    values: tuple[float, ...]
    reward: float
    key: str = ""


def sample_from_feedback(values: Sequence[float], action: str, key: str = "") -> Sample:
    """Validate one feedback item into a Sample; ValueError says what is wrong."""
    if action not in REWARDS:
        raise ValueError(f"action must be one of {', '.join(REWARDS)}")
    if len(values) != N_FACTORS:
        raise ValueError(f"factors must hold {N_FACTORS} values")
    checked = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("factor values must be numbers")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError("factor values must be between 0 and 1")
        checked.append(float(value))
    return Sample(tuple(checked), REWARDS[action], key)


def roc_auc(
    scores: Sequence[float] | np.ndarray,
    labels: Sequence[bool] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> float:
    """Weighted ROC-AUC; tied scores count one half (the Mann-Whitney statistic).

    Ties matter here: published scores are integers 0-100, so many leads share one.
    Raises ValueError unless both classes carry positive weight.
    """
    s = np.asarray(scores, dtype=float)
    y = np.asarray(labels, dtype=bool)
    w = np.ones_like(s) if weights is None else np.asarray(weights, dtype=float)
    if s.shape != y.shape or s.shape != w.shape or s.ndim != 1:
        raise ValueError("scores, labels and weights must be 1-D and of equal length")
    if not (np.isfinite(s).all() and np.isfinite(w).all()) or (w < 0).any():
        raise ValueError("scores and weights must be finite, weights non-negative")
    _, group = np.unique(s, return_inverse=True)
    pos = np.bincount(group, weights=w * y)
    neg = np.bincount(group, weights=w * ~y)
    total_pos, total_neg = pos.sum(), neg.sum()
    if total_pos <= 0 or total_neg <= 0:
        raise ValueError("AUC needs both positive and negative outcomes")
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


@dataclass(frozen=True, slots=True)
class FitSettings:
    """Knobs of a refit; the defaults are the product's (DESIGN §5)."""

    l2: float = 5.0  # penalty toward the prior, in logistic-coefficient units
    floor: float = 0.01  # every factor keeps at least this weight (stays visible)
    max_change: float | None = 0.05  # per factor and refit; None disables the cap
    min_outcomes: int = 30
    min_each_class: int = 5
    holdout_every: int = 4  # every 4th sample of each class is held out (25 %)
    tolerance: float = 0.0  # held-out AUC may not fall by more than this


DEFAULT_SETTINGS = FitSettings()


@dataclass(frozen=True, slots=True)
class FitResult:
    """What a refit produced and why it was or was not published.

    `weights` are what to serve: the new weights when `accepted`, else `previous`
    (the weights served before the refit). `method` is the method of the prior the
    fit was pulled toward, which is the method the weights are reported under.
    """

    weights: Weights
    method: str
    n_samples: int
    n_pos: int
    n_neg: int
    holdout_auc_new: float | None
    holdout_auc_prior: float | None
    accepted: bool
    reason: str


def _arrays(samples: Sequence[Sample]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = np.array([s.values for s in samples], dtype=float).reshape(-1, N_FACTORS)
    rewards = np.array([s.reward for s in samples], dtype=float)
    return x, rewards > 0, np.abs(rewards)


def holdout_mask(samples: Sequence[Sample], every: int) -> np.ndarray:
    """Deterministic stratified split: every `every`-th sample of each class by hash.

    Ordering by a hash of the sample key keeps a sample on the same side at every
    refit, and stratifying guarantees both classes in the held-out part.
    """
    mask = np.zeros(len(samples), dtype=bool)
    for positive in (True, False):
        members = [i for i, s in enumerate(samples) if (s.reward > 0) is positive]
        members.sort(
            key=lambda i: hashlib.blake2b(
                (samples[i].key or str(i)).encode(), digest_size=8
            ).digest()
        )
        mask[members[::every]] = True
    return mask


def _newton(
    x: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    centre: np.ndarray,
    penalty: np.ndarray,
    iterations: int = 50,
) -> np.ndarray:
    """Minimise sum s*logloss(y, sigmoid(x @ theta)) + 1/2 sum penalty*(theta-centre)^2.

    Convex with a positive-definite penalty, so damped Newton converges in a handful
    of steps; 11 parameters make each step microseconds.
    """

    def objective(theta: np.ndarray) -> float:
        z = x @ theta
        loss = np.logaddexp(0.0, z) - y * z
        return float(s @ loss + 0.5 * penalty @ (theta - centre) ** 2)

    theta = centre.copy()
    current = objective(theta)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        grad = x.T @ (s * (p - y)) + penalty * (theta - centre)
        hess = (x.T * (s * p * (1.0 - p))) @ x + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-4:
            candidate = theta - size * step
            value = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        theta, improvement = candidate, current - value
        current = value
        if improvement < 1e-10 * max(1.0, abs(current)):
            break
    return theta


def prior_scale(x: np.ndarray, y: np.ndarray, s: np.ndarray, prior: Weights) -> float:
    """How steeply the prior's score separates outcomes, in logistic units.

    Scoring weights sum to 1 while logistic coefficients live on the data's scale;
    the prior is therefore centred at `scale * prior`, where `scale` is fitted on
    the same data (a two-parameter logistic regression on the prior's score).
    """
    z = np.column_stack([np.ones(len(x)), x @ np.asarray(prior)])
    theta = _newton(z, y, s, np.zeros(2), np.array([1e-4, 1e-2]))
    return max(float(theta[1]), 0.0)


def to_weights(beta: np.ndarray, floor: float) -> Weights | None:
    """max(beta, 0) normalised to 1, then lifted so each factor has `floor`."""
    clipped = np.maximum(np.asarray(beta, dtype=float), 0.0)
    total = clipped.sum()
    if not total > 0 or not np.isfinite(total):
        return None
    spread = 1.0 - floor * len(clipped)
    return tuple(float(v) for v in floor + spread * clipped / total)


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


def fit_weights(
    samples: Sequence[Sample],
    prior: Weights,
    *,
    prior_method: str = "default",
    previous: Weights | None = None,
    settings: FitSettings = DEFAULT_SETTINGS,
) -> FitResult:
    """Refit one client's weights from its outcomes, shrunk toward `prior`.

    `previous` is what the client is served now (defaults to the prior); the change
    cap and the held-out comparison are against it. Deterministic: same samples,
    same result.
    """
    current = tuple(previous if previous is not None else prior)
    usable = [s for s in samples if s.reward != 0]
    n_pos = sum(1 for s in usable if s.reward > 0)
    n_neg = len(usable) - n_pos

    def result(weights: Weights, accepted: bool, reason: str, aucs=(None, None)):
        return FitResult(
            weights, prior_method, len(usable), n_pos, n_neg, *aucs, accepted, reason
        )

    if (
        len(usable) < settings.min_outcomes
        or n_pos < settings.min_each_class
        or n_neg < settings.min_each_class
    ):
        return result(
            current,
            False,
            f"needs {settings.min_outcomes} outcomes with {settings.min_each_class} "
            f"positive and {settings.min_each_class} negative; "
            f"has {len(usable)} ({n_pos} positive, {n_neg} negative)",
        )
    x, y, s = _arrays(usable)
    held = holdout_mask(usable, settings.holdout_every)
    xt, yt, st = x[~held], y[~held], s[~held]
    scale = prior_scale(xt, yt, st, prior)
    design = np.column_stack([np.ones(len(xt)), xt])
    centre = np.concatenate([[0.0], scale * np.asarray(prior)])
    penalty = np.concatenate([[1e-4], np.full(N_FACTORS, settings.l2)])
    theta = _newton(design, yt, st, centre, penalty)
    learned = to_weights(theta[1:], settings.floor)
    if learned is None:
        return result(current, False, "no factor has a positive effect")
    if settings.max_change is not None:
        learned = cap_change(learned, current, settings.max_change, settings.floor)
    xh, yh, sh = x[held], y[held], s[held]
    auc_new = roc_auc(xh @ np.asarray(learned), yh, sh)
    auc_old = roc_auc(xh @ np.asarray(current), yh, sh)
    aucs = (auc_new, auc_old)
    if auc_new + settings.tolerance < auc_old:
        return result(current, False, "held-out AUC would fall", aucs)
    return result(learned, True, "held-out AUC did not fall", aucs)
