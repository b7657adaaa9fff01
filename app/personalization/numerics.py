"""Numerical core of weight learning: weighted ROC-AUC and penalised logistic fits.

Plain numpy on at most eleven parameters; kept apart from the learning policy
(gates, floors, caps) in `learning.py` so each can be read on its own.
"""

from collections.abc import Sequence

import numpy as np

from app.personalization.design import GroupedDesign, as_design

MAX_STEP = 4.0  # the largest change of one parameter in one Newton step
BASE_RATE_CLIP = 1e-3  # a group's base rate for its starting intercept, at least
# A full Newton step whose decrement (grad . step) was below this ends the fit:
# the next step would move weights by ~1e-5 at most (pooled and own fits of the
# learning benchmark), and skipping it saves ~15 % of those fits' Hessians and
# ~30 % of a refit of every client's (benchmarks/refit_scale.py, 2,000 clients).
CONVERGED_DECREMENT = 1e-3


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
    positive, negative = w[y], w[~y]
    if not (positive.sum() > 0 and negative.sum() > 0):
        raise ValueError("AUC needs both positive and negative outcomes")
    return float(PairRanks(s[y], s[~y]).aucs(positive[None], negative[None])[0])


class PairRanks:
    """Where each positive's score falls among the negatives' scores, so the
    AUC of any weighting of the same outcomes is a cumulative sum and two
    lookups: sorting is the costly part of an AUC, and a bootstrap weighs the
    same scores hundreds of ways."""

    def __init__(self, positives: np.ndarray, negatives: np.ndarray) -> None:
        self.order = np.argsort(negatives, kind="stable")
        ordered = negatives[self.order]
        self.below = np.searchsorted(ordered, positives, side="left")
        self.up_to = np.searchsorted(ordered, positives, side="right")

    def aucs(self, positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
        """ROC-AUC (ties one half) of each row of weights: `positive` (rows x
        positives) and `negative` (rows x negatives), in the constructor's order."""
        cumulative = np.zeros((len(negative), negative.shape[1] + 1))
        np.cumsum(negative[:, self.order], axis=1, out=cumulative[:, 1:])
        # below + half the ties = half of (weight below + weight up to the score)
        beaten = cumulative[:, self.below] + cumulative[:, self.up_to]
        total = positive.sum(axis=1) * negative.sum(axis=1)
        return 0.5 * (positive * beaten).sum(axis=1) / total


Matrix = np.ndarray | GroupedDesign


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _probabilities(x: Matrix, theta: np.ndarray) -> np.ndarray:
    return _sigmoid(x @ theta)


def _gradient(x: GroupedDesign, y, s, p, theta, centre, penalty) -> np.ndarray:
    """Gradient of the penalised weighted log-loss at `theta` (p: its probabilities)."""
    return x.transpose_dot(s * (p - y)) + penalty * (theta - centre)


def _hessian(x: GroupedDesign, s, p, penalty) -> np.ndarray:
    """Hessian of the penalised weighted log-loss (p: the probabilities there)."""
    return x.weighted_gram(s * p * (1.0 - p)) + np.diag(penalty)


def newton(
    x: Matrix,
    y: np.ndarray,
    s: np.ndarray,
    centre: np.ndarray,
    penalty: np.ndarray,
    iterations: int = 50,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Minimise sum s*logloss(y, sigmoid(x @ theta)) + 1/2 sum penalty*(theta-centre)^2.

    Convex with a positive-definite penalty, so damped Newton converges in a handful
    of steps; a few dozen parameters make each step microseconds. A step moves no
    parameter by more than `MAX_STEP` (logit units): where the sigmoid saturates
    (e.g. one client's intercept far off at the start) the Hessian is nearly
    singular and the raw Newton step is huge; halving it a dozen times was not
    enough, and the fit used to stop far from the optimum. `x` is a matrix or a
    GroupedDesign (one implicit intercept column per group).
    """
    x = as_design(x)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ theta
        loss = np.logaddexp(0.0, z) - y * z
        return float(s @ loss + 0.5 * penalty @ (theta - centre) ** 2), z

    theta = _start(x, y, s, centre) if start is None else start.astype(float)
    current, z = objective(theta)
    for _ in range(iterations):
        p = _sigmoid(z)  # z of the accepted step: no second product
        grad = _gradient(x, y, s, p, theta, centre, penalty)
        hess = _hessian(x, s, p, penalty)
        step = np.linalg.solve(hess, grad)
        clipped = min(1.0, MAX_STEP / max(float(np.abs(step).max()), 1e-300))
        step *= clipped
        decrement = float(grad @ step)  # twice the decrease a full step predicts
        size = 1.0
        while size > 1e-4:
            candidate = theta - size * step
            value, candidate_z = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        theta, improvement, z = candidate, current - value, candidate_z
        current = value
        if improvement < 1e-10 * max(1.0, abs(current)):
            break
        if size == 1.0 and clipped == 1.0 and decrement < CONVERGED_DECREMENT:
            break  # near the optimum Newton converges quadratically: this was the last
    return theta


def _start(x: GroupedDesign, y, s, centre: np.ndarray) -> np.ndarray:
    """Where Newton starts: the centre, with each group's intercept set so that
    the centre's scores meet the group's base rate on average. From zero
    intercepts the first steps only found the base rates: this halves the
    iterations of a pooled fit (6 to 3) and ends at the same optimum."""
    theta = centre.astype(float)
    k = x.groups
    if k == 0 or not len(x):
        return theta
    codes = x.codes
    total = np.bincount(codes, weights=s, minlength=k)
    seen = total > 0
    rate = np.bincount(codes, weights=s * y, minlength=k)[seen] / total[seen]
    rate = np.clip(rate, BASE_RATE_CLIP, 1.0 - BASE_RATE_CLIP)
    z = x.features @ centre[k:]
    mean_z = np.bincount(codes, weights=s * z, minlength=k)[seen] / total[seen]
    theta[:k][seen] = np.log(rate / (1.0 - rate)) - mean_z
    return theta


def newton_nonneg(
    x: Matrix,
    y: np.ndarray,
    s: np.ndarray,
    centre: np.ndarray,
    penalty: np.ndarray,
    intercepts: int = 1,
) -> np.ndarray:
    """As `newton`, with every coefficient but the leading `intercepts` kept >= 0.

    The leading `intercepts` columns are intercepts: one, or one per client when
    several clients' outcomes are fitted together (a GroupedDesign's groups, or
    leading columns of a plain matrix).

    Published weights cannot be negative, so fitting under that constraint uses
    the data better than clipping an unconstrained fit afterwards: the other
    coefficients adjust for a factor that is held at zero. Active-set iteration
    (Lawson-Hanson style): drop coefficients that go negative, re-admit a dropped
    one while the objective still falls when it grows.
    """
    x = as_design(x)
    width = x.width
    free = np.ones(width, dtype=bool)
    theta = np.zeros(width)
    for _ in range(2 * width):
        sub = newton(x.keep(free), y, s, centre[free], penalty[free])
        theta = np.zeros(width)
        theta[free] = sub
        negative = free & (theta < 0)
        negative[:intercepts] = False
        if negative.any():
            free &= ~negative
            continue
        grad = _gradient(x, y, s, _probabilities(x, theta), theta, centre, penalty)
        grad[free] = 0.0
        best = int(np.argmin(grad))
        if grad[best] >= -1e-9:
            break
        free[best] = True
    return np.maximum(
        theta, np.r_[np.full(intercepts, -np.inf), np.zeros(width - intercepts)]
    )


POSTERIOR_BATCH = 4000  # draws per batch of the posterior mean
POSTERIOR_MIN_KEPT = 400  # non-negative draws wanted before stopping
POSTERIOR_MAX_DRAWS = 64_000
POSTERIOR_MIN_USABLE = 50  # fewer non-negative draws than this: no estimate


def nonneg_posterior_mean(
    x: Matrix,
    y: np.ndarray,
    s: np.ndarray,
    centre: np.ndarray,
    penalty: np.ndarray,
    intercepts: int = 1,
    seed: int = 0,
) -> np.ndarray | None:
    """Posterior mean of the coefficients, normalised to sum 1, given they are >= 0.

    The penalised fit is a Gaussian prior (mean `centre`, precision `penalty`)
    times the logistic likelihood; its posterior is approximated by a normal at
    the unconstrained optimum with the inverse Hessian as covariance (Laplace),
    and restricted to non-negative coefficients by keeping only the draws that
    are. Each kept draw is normalised (scoring weights sum to 1) and the draws
    are averaged. Why not the constrained optimum alone: it puts weakly supported
    factors exactly on zero and swings with every few outcomes, while the mean
    keeps them at what the data allow on average; in the learning benchmark this
    closes ~1 point more of the AUC gap, in every simulated world.

    Intercepts (the leading `intercepts` columns) are integrated out. The draws
    come from a fixed seed, so the result is deterministic. None when the
    covariance is not usable or almost no draw is non-negative; the caller then
    uses the constrained optimum (`newton_nonneg`).
    """
    x = as_design(x)
    theta = newton(x, y, s, centre, penalty)
    hess = _hessian(x, s, _probabilities(x, theta), penalty)
    try:
        cov = np.linalg.inv(hess)[intercepts:, intercepts:]
        root = np.linalg.cholesky((cov + cov.T) / 2)
    except np.linalg.LinAlgError:
        return None
    rng = np.random.default_rng(seed)
    mode = theta[intercepts:]
    total, kept, drawn = np.zeros(len(mode)), 0, 0
    while kept < POSTERIOR_MIN_KEPT and drawn < POSTERIOR_MAX_DRAWS:
        draws = mode + rng.standard_normal((POSTERIOR_BATCH, len(mode))) @ root.T
        draws = draws[(draws >= 0).all(axis=1) & (draws.sum(axis=1) > 0)]
        total += (draws / draws.sum(axis=1, keepdims=True)).sum(axis=0)
        kept += len(draws)
        drawn += POSTERIOR_BATCH
    if kept < POSTERIOR_MIN_USABLE:
        return None
    return total / kept
