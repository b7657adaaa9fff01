"""Learning a client's weights from outcome feedback.

A weighted logistic regression on the ten factor values recorded at scoring time,
label = reward > 0 and sample weight = |reward|, with an L2 penalty that pulls the
coefficients toward the prior (similar clients -> industry prior -> default). The
coefficients are mapped back to scoring weights (their posterior mean given they
are non-negative, normalised, a floor per factor, a cap on the change per refit),
and the result ships only when a held-out check does not get worse. With no data
the answer is the prior itself, so a client is never worse off for having given
little feedback.

A sample is only (ten factor values, reward) plus an opaque key for the split: lead
PII never reaches this layer.
"""

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from app.personalization.numerics import (
    newton,
    newton_nonneg,
    nonneg_posterior_mean,
    roc_auc,
)
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


@dataclass(frozen=True, slots=True)
class FitSettings:
    """Knobs of a refit; the defaults are the product's."""

    # Penalty toward the prior, in logistic-coefficient units, by the prior's method:
    # 1/tau^2, where tau^2 is how far clients' coefficients stray from that prior.
    # A prior pooled from similar clients deserves more trust than a documented
    # industry table, which deserves more than the generic defaults. 16 (tau 0.25,
    # about a fifth of a typical coefficient) because that prior is now one fit on
    # all similar clients' outcomes (pooling.py): at 4.0, 300 own outcomes pulled
    # the served weights below that prior in the learning benchmark.
    l2: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"similar_clients": 16.0, "industry_prior": 1.0, "default": 0.5}
        )
    )
    floor: float = 0.01  # every factor keeps at least this weight (stays visible)
    max_change: float | None = 0.05  # per factor and refit; None disables the cap
    min_outcomes: int = 30
    min_each_class: int = 5
    folds: int = 5  # cross-validation folds of the held-out check
    noise_margin: float = 1.0  # in standard errors of the fold-wise AUC difference
    tolerance: float = 0.0  # extra absolute AUC drop allowed (0: none)


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


def fold_of(samples: Sequence[Sample], folds: int) -> np.ndarray:
    """Deterministic stratified folds: each class ordered by a hash of the key.

    Hashing keeps a sample in the same fold at every refit; dealing each class out
    in turn puts positives and negatives in every fold.
    """
    fold = np.zeros(len(samples), dtype=int)
    for positive in (True, False):
        members = [i for i, s in enumerate(samples) if (s.reward > 0) is positive]
        members.sort(
            key=lambda i: hashlib.blake2b(
                (samples[i].key or str(i)).encode(), digest_size=8
            ).digest()
        )
        fold[members] = np.arange(len(members)) % folds
    return fold


def prior_scale(x: np.ndarray, y: np.ndarray, s: np.ndarray, prior: Weights) -> float:
    """How steeply the prior's score separates outcomes, in logistic units.

    Scoring weights sum to 1 while logistic coefficients live on the data's scale;
    the prior is therefore centred at `scale * prior`, where `scale` is fitted on
    the same data (a two-parameter logistic regression on the prior's score).
    """
    z = np.column_stack([np.ones(len(x)), x @ np.asarray(prior)])
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


def fit_toward_prior(
    x: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    prior: Weights,
    l2: float,
    floor: float,
    group: np.ndarray | None = None,
) -> Weights | None:
    """Publishable weights from a logistic fit penalised toward `prior`.

    One intercept, or one per value of `group` (similar clients pooled, each
    with its own base rate); the coefficients are pulled toward `scale * prior`
    (`prior_scale`) with precision `l2`. The weights are the posterior mean of
    the non-negative, normalised coefficients (`nonneg_posterior_mean`), or the
    constrained optimum when that has no answer. In the learning benchmark the
    mean beat the optimum both for similar clients' pooled fits and for a
    client's own refits (+0.004 AUC at 100 own outcomes): the optimum puts
    weakly supported factors on zero.
    """
    if group is None:
        group = np.zeros(len(x), dtype=int)
    groups = np.unique(group)
    k = len(groups)
    design = np.column_stack([(group[:, None] == groups[None, :]).astype(float), x])
    scale = prior_scale(x, y, s, prior)
    centre = np.concatenate([np.zeros(k), scale * np.asarray(prior)])
    penalty = np.concatenate([np.full(k, 1e-4), np.full(x.shape[1], l2)])
    mean = nonneg_posterior_mean(design, y, s, centre, penalty, intercepts=k)
    if mean is not None:
        return to_weights(mean, floor)
    theta = newton_nonneg(design, y, s, centre, penalty, intercepts=k)
    return to_weights(theta[k:], floor)


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


def _fit_once(
    x: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    prior: Weights,
    current: Weights,
    settings: FitSettings,
    l2: float,
) -> Weights | None:
    """One penalised fit mapped to publishable weights (floor and change cap)."""
    learned = fit_toward_prior(x, y, s, prior, l2, settings.floor)
    if learned is not None and settings.max_change is not None:
        learned = cap_change(learned, current, settings.max_change, settings.floor)
    return learned


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
    cap and the held-out check are against it. The check is cross-validated and
    paired: in each fold, weights fitted without the fold and `previous` are both
    scored on it; the new weights are rejected when their AUC is lower on average
    by more than the fold-to-fold noise (one standard error of the mean difference).
    Every outcome is held out once, so the check is far less noisy than a single
    25 % split at the data sizes where it matters; the published weights are then
    fitted on all outcomes. Deterministic: same input, same result.
    """
    if prior_method not in settings.l2:
        raise ValueError(f"no penalty for prior method {prior_method!r}")
    l2 = settings.l2[prior_method]
    current = tuple(previous if previous is not None else prior)
    usable = [s for s in samples if s.reward != 0]
    n_pos = sum(1 for s in usable if s.reward > 0)
    n_neg = len(usable) - n_pos

    def result(weights, accepted, reason, new=None, old=None) -> FitResult:
        return FitResult(
            weights, prior_method, len(usable), n_pos, n_neg, new, old, accepted, reason
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
    fold = fold_of(usable, settings.folds)
    new_aucs, old_aucs = [], []
    for k in range(settings.folds):
        test = fold == k
        weights = _fit_once(x[~test], y[~test], s[~test], prior, current, settings, l2)
        if weights is None:
            return result(current, False, "no factor has a positive effect")
        new_aucs.append(roc_auc(x[test] @ np.asarray(weights), y[test], s[test]))
        old_aucs.append(roc_auc(x[test] @ np.asarray(current), y[test], s[test]))
    diffs = np.subtract(new_aucs, old_aucs)
    noise = settings.noise_margin * float(diffs.std(ddof=1)) / np.sqrt(len(diffs))
    auc_new, auc_old = float(np.mean(new_aucs)), float(np.mean(old_aucs))
    if diffs.mean() < -(noise + settings.tolerance):
        return result(current, False, "held-out AUC would fall", auc_new, auc_old)
    learned = _fit_once(x, y, s, prior, current, settings, l2)
    if learned is None:
        return result(current, False, "no factor has a positive effect")
    return result(learned, True, "held-out AUC did not fall", auc_new, auc_old)
