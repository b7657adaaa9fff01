"""The yardsticks of the learning benchmark: an anchor and our model's ceiling.

- The anchor: L2 logistic regression with an intercept on the same own outcomes
  as the product (label reward > 0, sample weight |reward|, as the product
  learns), lead status and seniority one-hot (their levels read back from the
  factor values), the other eight factors as they are; columns standardised on
  the training data, lambda chosen from a grid by 5-fold cross-validated
  weighted log-loss. numpy only (Newton's method), no new dependency.
- The best weighted sum: the non-negative weighted sum of the ten factor values
  with the best AUC on the client's truth, fitted on many leads (a non-negative
  logistic fit on the true probabilities, then polished on the AUC itself) —
  the ceiling of the product's model family.
"""

import numpy as np
from learning_worlds import SENIORITY, STATUS

from app.personalization.numerics import newton_nonneg, roc_auc
from app.personalization.outcomes import Sample

STATUS_LEVELS = np.array([0.0, 0.1, 0.3, 0.5, 0.7, 1.0])
SENIORITY_LEVELS = np.array([0.0, 0.3, 0.6, 0.8, 1.0])
LAMBDAS = (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)
FOLDS = 5


def expected_auc(scores: np.ndarray, p: np.ndarray) -> float:
    """AUC against true probabilities: each lead is positive with weight p."""
    return roc_auc(
        np.concatenate([scores, scores]),
        np.concatenate([np.ones(len(p), bool), np.zeros(len(p), bool)]),
        np.concatenate([p, 1 - p]),
    )


def anchor_features(x: np.ndarray) -> np.ndarray:
    """Status and seniority one-hot plus the other eight factor values."""

    def one_hot(column: np.ndarray, levels: np.ndarray) -> np.ndarray:
        index = np.abs(column[:, None] - levels[None, :]).argmin(axis=1)
        return np.eye(len(levels))[index]

    rest = np.delete(x, [STATUS, SENIORITY], axis=1)
    return np.hstack(
        [
            one_hot(x[:, STATUS], STATUS_LEVELS),
            one_hot(x[:, SENIORITY], SENIORITY_LEVELS),
            rest,
        ]
    )


def _newton(x, y, w, lam, iterations=30):
    """Weighted L2 logistic regression; column 0 is the unpenalised intercept."""
    beta = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], lam)
    penalty[0] = 1e-8
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(x @ beta, -30, 30)))
        gradient = x.T @ (w * (p - y)) + penalty * beta
        hessian = (x * (w * p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta


class Anchor:
    """The fitted anchor: scores any leads' factor values."""

    def __init__(self, samples: list[Sample]):
        usable = [s for s in samples if s.reward != 0]
        x = anchor_features(np.array([s.values for s in usable]).reshape(-1, 10))
        y = np.array([s.reward > 0 for s in usable], dtype=float)
        w = np.abs([s.reward for s in usable]).astype(float)
        self.usable = bool(len(usable)) and 0 < y.sum() < len(y)
        if not self.usable:
            return
        self.mean, self.sd = x.mean(axis=0), x.std(axis=0)
        self.sd[self.sd == 0] = 1.0
        design = self._design(x)
        fold = np.arange(len(y)) % FOLDS
        losses = []
        for lam in LAMBDAS:
            loss = 0.0
            for k in range(FOLDS):
                test = fold == k
                beta = _newton(design[~test], y[~test], w[~test], lam)
                p = 1 / (1 + np.exp(-np.clip(design[test] @ beta, -30, 30)))
                p = np.clip(p, 1e-6, 1 - 1e-6)
                loss -= (
                    w[test] * (y[test] * np.log(p) + (1 - y[test]) * np.log(1 - p))
                ).sum()
            losses.append(loss)
        self.lam = LAMBDAS[int(np.argmin(losses))]
        self.beta = _newton(design, y, w, self.lam)

    def _design(self, features: np.ndarray) -> np.ndarray:
        standard = (features - self.mean) / self.sd
        return np.hstack([np.ones((len(features), 1)), standard])

    def scores(self, x: np.ndarray) -> np.ndarray:
        if not self.usable:
            return np.zeros(len(x))
        return self._design(anchor_features(x)) @ self.beta


def best_weighted_sum(x: np.ndarray, p: np.ndarray, steps: int = 400) -> np.ndarray:
    """Non-negative weights with the best AUC on true probabilities p of leads x."""
    design = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(11)
    beta[0] = np.log(p.mean() / (1 - p.mean()))
    rate = 4.0 / len(x)
    for _ in range(steps):  # projected gradient ascent on the expected log-likelihood
        q = 1 / (1 + np.exp(-np.clip(design @ beta, -30, 30)))
        beta += rate * design.T @ (p - q) * 10
        beta[1:] = np.maximum(beta[1:], 0.0)
    weights = beta[1:] if beta[1:].sum() > 0 else np.ones(10)
    weights = weights / weights.sum()
    best = expected_auc(x @ weights, p)
    for factor in (2.0, 1.3):  # coordinate search on the AUC itself
        for _ in range(2):
            for k in range(10):
                for change in (factor, 1 / factor, 0.0):
                    trial = weights.copy()
                    trial[k] = (
                        trial[k] * change if trial[k] > 0 else 0.02 * (change > 1)
                    )
                    if trial.sum() <= 0:
                        continue
                    trial /= trial.sum()
                    auc = expected_auc(x @ trial, p)
                    if auc > best + 1e-6:
                        weights, best = trial, auc
    return weights


def pooled_logistic(outcomes_by_peer: list[list[Sample]]) -> np.ndarray:
    """The newcomer's yardstick: a plain non-negative logistic regression on
    similar clients' pooled outcomes, won = converted and lost = every other
    outcome, one intercept per client, no prior and no screening (a ridge of
    1e-3 only keeps it finite). Its ten coefficients rank leads."""
    x = np.vstack(
        [np.array([s.values for s in o]).reshape(-1, 10) for o in outcomes_by_peer]
    )
    won = np.concatenate([[s.reward >= 1.0 for s in o] for o in outcomes_by_peer])
    group = np.concatenate([np.full(len(o), i) for i, o in enumerate(outcomes_by_peer)])
    k = len(outcomes_by_peer)
    design = np.column_stack([(group[:, None] == np.arange(k)).astype(float), x])
    penalty = np.r_[np.full(k, 1e-4), np.full(10, 1e-3)]
    theta = newton_nonneg(
        design, won.astype(float), np.ones(len(won)), np.zeros(k + 10), penalty, k
    )
    return theta[k:]
