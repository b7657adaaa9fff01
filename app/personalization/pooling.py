"""Similar clients' outcomes pooled into a client's prior weights, robust to a
client that lies.

Why pool outcomes rather than average learned weights: each similar client's own
weights were fitted on a few hundred outcomes, shrunk toward its own prior,
floored and capped per refit before any averaging, which throws information
away. The estimate is one weighted logistic regression on the neighbours'
outcomes, with one intercept per client (base rates differ) and one shared,
non-negative coefficient per factor, penalised toward the industry prior (or the
defaults), served as the posterior mean of the normalised coefficients
(`learning.fit_toward_prior`; ~1 point more of the AUC gap than the optimum).

No outcome count buys influence (one client's 1,000 invented outcomes once
moved a newcomer's weights by 0.5), and a peer that disagrees is left out:

- Equal at most: a peer's outcomes count together as at most the median peer's
  outcome count (`max_outcomes` caps that reference), times its similarity.
  More outcomes never weigh more than the typical peer; fewer weigh less.
- Robust screening: each peer is first fitted alone toward the same prior; the
  factor-wise median of these fits is the reference, and a peer whose fit lies
  more than `SCREEN_FULL` times the median peer's L1 distance from it (at
  least `MIN_SPREAD`) loses weight, linearly, down to none at `SCREEN_ZERO`
  times. Medians are not moved
  by a minority, so fewer liars than honest peers are screened out however
  extreme their outcomes; one that stays inside the honest spread keeps at most
  an equal share, so it can move the estimate by at most a fraction of that
  spread. Only the screened peers are pooled and only they vote in the gate.
- Shrinkage toward the prior is the fit's penalty: agreeing peers with enough
  outcomes move the estimate away from the prior, few or noisy ones do not.

Losses and conversions count once each (won = reward > 0, else lost), not with
|reward|: bounces follow email validity, not interest, and reward weights pulled
the valid-email coefficient up. Replies and clicks count as weaker evidence
(`outcomes.graded`, per peer), so a peer with plentiful clicks does not pull
others toward engagement; once a peer has 30 conversions they count as leads
that did not convert. No per-refit change cap: this is a fresh
estimate, and the client's own refits are capped against what it is served.

Held-out gate, neighbours held out: the screened neighbours are dealt into
`NEIGHBOUR_FOLDS` folds (one each when fewer), and each neighbour's outcomes are
ranked by the pooled weights fitted on the other folds; they must rank them no
worse than the prior, on average over neighbours, beyond one standard error.
Folds rather than one neighbour at a time: a fifth of the fits (the bulk of a
refit of every client) for the same per-neighbour comparison.

Samples are (ten factor values, reward) only; no lead PII reaches this layer.

Value tables: when the neighbours' outcomes show levels out of order, tables
fitted on them may come with the weights (`pooled_tables.py`), judged on the
same folds against what would be served without them: the pooled weights when
those passed, else the prior. Weights that fail do not rule tables out: where a
middle level converts best, no weighted sum of the seed's values may beat the
prior while the tables beat it by far, and judging only the weights made the
newcomer's start a coin flip on noise between the two.

Company size: the served model (weights, or tables) carries a tilt along the
neighbours' company sizes when it passes its own check on the same folds
(`size_tilt.py`), and each client is served it moved to its own size.

Cost: dozens of logistic fits on up to 20 peers' outcomes, the bulk of a refit
run; results are kept by their inputs (KEPT_RESULTS at most).
"""

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np

from app.personalization.candidates import Model
from app.personalization.coefficients import prior_scale
from app.personalization.learning import DEFAULT_SETTINGS, FitSettings, fit_toward_prior
from app.personalization.numerics import roc_auc
from app.personalization.outcomes import Sample, graded
from app.personalization.peer_outcomes import (
    POOL_PER_DAY,
    PeerOutcomes,
    cap_per_day,
    usable_arrays,
)
from app.personalization.pooled_tables import NeighbourFolds, pooled_tables
from app.personalization.priors import Weights
from app.personalization.similarity import Neighbour, size_decades
from app.personalization.size_tilt import SizeTilt, judged_tilt
from app.scoring import ValueTables

__all__ = ["POOL_PER_DAY", "PeerOutcomes", "PooledFit", "cap_per_day", "pooled_fit"]

MAX_OUTCOMES = 1000  # the reference a peer's outcomes are scaled to never exceeds this
MIN_CLIENTS = 5  # screened neighbours with outcomes needed for a pooled estimate
SCREEN_FULL = 2.0  # full weight up to this many median distances from the median fit
SCREEN_ZERO = 4.0  # no weight from this many median distances on
# The median distance counts as at least this (L1 of weights), so peers that agree
# closely do not drop one for a difference no score would show.
MIN_SPREAD = 0.05
KEPT_RESULTS = 8192  # pooled fits (~1 KB each) and fits alone kept, of each


@dataclass(frozen=True, slots=True)
class PooledFit:
    """A pooled estimate and whether it may be served.

    `weights` is None unless `accepted`. The AUCs are the means over held-out
    neighbours of the candidate and of the prior: the candidate is what is
    served (weights with `tables`, when tables are), else the pooled weights.
    `contributors` holds each neighbour with outcomes and its share of the
    combination (shares sum to 1; a screened-out peer has 0.0).
    """

    weights: Weights | None
    n_clients: int
    n_samples: int
    holdout_auc_new: float | None
    holdout_auc_prior: float | None
    accepted: bool
    reason: str
    contributors: tuple[tuple[str, float], ...] = ()
    # Value tables learned from the neighbours (pooled_tables.py), served with
    # `weights`; None: the seed's values.
    tables: ValueTables | None = None
    # How the weights move with a client's company size (size_tilt.py); None:
    # they do not, for any client.
    size_tilt: SizeTilt | None = None


def _remembered(kept: dict, key: Hashable, compute: Callable[[], object]) -> object:
    """The result kept for `key`, else `compute()` kept. A full store is emptied:
    a run's entries fit in it, and older runs' are never asked for again."""
    value = kept.get(key, kept)
    if value is kept:
        value = compute()
        if len(kept) >= KEPT_RESULTS:
            kept.clear()
        kept[key] = value
    return value


_POOLED_FITS: dict[Hashable, object] = {}
_ALONE_FITS: dict[Hashable, object] = {}


def screen(fits: np.ndarray) -> np.ndarray:
    """Weight in [0, 1] of each peer's fit (rows) by its L1 distance from the
    factor-wise median fit, relative to the median such distance."""
    distance = np.abs(fits - np.median(fits, axis=0)).sum(axis=1)
    ratio = distance / max(float(np.median(distance)), MIN_SPREAD)
    return np.clip((SCREEN_ZERO - ratio) / (SCREEN_ZERO - SCREEN_FULL), 0.0, 1.0)


def _shares(
    groups: Sequence[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]],
    digests: Sequence[Hashable],
    prior: Weights,
    l2: float,
    floor: float,
    max_outcomes: int,
) -> np.ndarray:
    """Each peer's weight per outcome: similarity x screening x equal-count scale."""
    fits = []
    for (_, _, x, y, grade), digest in zip(groups, digests, strict=True):
        key = (digest, tuple(prior), l2, floor)
        fit = partial(fit_toward_prior, x, y, grade, prior, l2, floor)
        alone = _remembered(_ALONE_FITS, key, fit)
        fits.append(alone if alone is not None else prior)
    trust = screen(np.array(fits, dtype=float))
    counts = np.array([len(g[3]) for g in groups], dtype=float)
    reference = min(float(np.median(counts)), float(max_outcomes))
    similarity = np.array([g[1] for g in groups], dtype=float)
    return similarity * trust * np.minimum(1.0, reference / counts)


def pooled_fit(
    neighbours: Sequence[Neighbour],
    samples: Mapping[str, Sequence[Sample]],
    prior: Weights,
    *,
    prior_method: str = "industry_prior",
    settings: FitSettings = DEFAULT_SETTINGS,
    max_outcomes: int = MAX_OUTCOMES,
    min_clients: int = MIN_CLIENTS,
) -> PooledFit:
    """Fit the screened neighbours' outcomes toward `prior` and gate the result.

    `samples` maps a neighbour's client_id to its outcomes; neighbours without
    outcomes there are left out. The penalty is `settings.l2[prior_method]`, the
    floor `settings.floor`. Deterministic: same input, same result.
    """
    groups, digests, decades = [], [], []
    for n in neighbours:
        x, rewards, digest = usable_arrays(samples.get(n.client_id, ()))
        if len(rewards) and n.similarity > 0:
            won, grade = graded(rewards, negative_weight=1.0, settle_weak=True)
            groups.append((n.client_id, n.similarity, x, won, grade))
            digests.append(digest)
            decades.append(size_decades(n.company_size))

    args = (groups, digests, decades, prior, prior_method, settings)
    args += (max_outcomes, min_clients)
    if settings is not DEFAULT_SETTINGS:  # other settings are not in the key
        return _pooled(*args)
    shown = tuple(
        (g[0], g[1], digest, size)
        for g, digest, size in zip(groups, digests, decades, strict=True)
    )
    key = (shown, tuple(prior), prior_method, max_outcomes, min_clients)
    return _remembered(_POOLED_FITS, key, lambda: _pooled(*args))  # type: ignore


def _pooled(
    groups: Sequence[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]],
    digests: Sequence[Hashable],
    decades: Sequence[float | None],
    prior: Weights,
    prior_method: str,
    settings: FitSettings,
    max_outcomes: int,
    min_clients: int,
) -> PooledFit:
    """`pooled_fit` on the neighbours' usable outcomes (`groups`)."""
    l2 = settings.l2[prior_method]
    n_samples = sum(len(g[3]) for g in groups)
    contributors: tuple[tuple[str, float], ...] = ()

    def result(weights, accepted, reason, new=None, old=None, tables=None, tilt=None):
        found = (len(groups), n_samples, new, old, accepted, reason, contributors)
        return PooledFit(weights, *found, tables, tilt)

    if len(groups) < min_clients:
        return result(None, False, f"needs outcomes of {min_clients} similar clients")
    y_all = np.concatenate([g[3] for g in groups])
    n_pos = int(y_all.sum())
    if (
        n_samples < settings.min_outcomes
        or n_pos < settings.min_each_class
        or n_samples - n_pos < settings.min_each_class
    ):
        return result(None, False, "too few positive or negative outcomes")
    shares = _shares(groups, digests, prior, l2, settings.floor, max_outcomes)
    totals = shares * np.array([len(g[3]) for g in groups])
    share_of = totals / max(float(totals.sum()), 1e-300)
    contributors = tuple(
        (g[0], round(float(t), 4)) for g, t in zip(groups, share_of, strict=True)
    )
    kept = [i for i in range(len(groups)) if shares[i] > 0]
    if len(kept) < min_clients:
        return result(None, False, f"needs outcomes of {min_clients} agreeing clients")
    x = np.vstack([groups[i][2] for i in kept])
    y = np.concatenate([groups[i][3] for i in kept])
    s = np.concatenate([shares[i] * groups[i][4] for i in kept])
    group = np.concatenate([np.full(len(groups[i][3]), i) for i in kept])
    # held-out neighbour -> AUC on its outcomes of the pooled weights, of the prior
    weights_auc: dict[int, float] = {}
    prior_auc: dict[int, float] = {}
    # The prior's scale on each fold's training outcomes, then on all of them:
    # the weights' and the tables' fits of one fold share it.
    pooled = NeighbourFolds(x, y, s, group, kept)
    scales = [prior_scale(x[t], y[t], s[t], prior) for t in pooled.trains]
    fold_models = []
    for members, train, scale in zip(pooled.folds, pooled.trains, scales, strict=False):
        weights = fit_toward_prior(
            x[train], y[train], s[train], prior, l2, settings.floor, group[train], scale
        )
        if weights is None:
            return result(None, False, "no factor has a positive effect")
        fold_models.append(Model(weights))
        for k in members:
            held_x, held_y, held_s = pooled.held_out(k)
            if held_y.all() or not held_y.any():
                continue  # AUC needs both classes
            weights_auc[k] = roc_auc(held_x @ np.asarray(weights), held_y, held_s)
            prior_auc[k] = roc_auc(held_x @ np.asarray(prior), held_y, held_s)
    if len(weights_auc) < 3:
        return result(None, False, "too few neighbours with both outcome classes")
    diffs = np.subtract(list(weights_auc.values()), list(prior_auc.values()))
    noise = settings.noise_margin * float(diffs.std(ddof=1)) / np.sqrt(len(diffs))
    auc_new = float(np.mean(list(weights_auc.values())))
    auc_old = float(np.mean(list(prior_auc.values())))
    passed = not diffs.mean() < -(noise + settings.tolerance)
    if passed:
        weights = fit_toward_prior(
            x, y, s, prior, l2, settings.floor, group, scales[-1]
        )
        if weights is None:
            return result(None, False, "no factor has a positive effect")
    # Tables must beat what would be served without them: the pooled weights when
    # they passed, else the prior (module docstring: why).
    baseline = weights_auc if passed else prior_auc
    tabled = pooled_tables(pooled, scales, baseline, prior, settings)
    if tabled is None and not passed:
        return result(None, False, "held-out AUC would fall", auc_new, auc_old)
    # The served model and its check, which the size tilt's check builds on.
    model, held_out, new = Model(weights), weights_auc, auc_new
    reason = "held-out AUC did not fall"
    if tabled is not None:
        model, fold_models, held_out = tabled.model, tabled.fold_models, tabled.aucs
        new = tabled.auc
        why = "weights" if passed else "the prior (weights alone did not)"
        reason = f"tables beat {why}"
    sizes = {k: decades[k] for k in kept}
    tilt = judged_tilt(pooled, fold_models, held_out, model, sizes, settings.floor)
    return result(model.weights, True, reason, new, auc_old, model.tables, tilt)
