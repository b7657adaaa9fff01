"""The held-out check a new weight version passes before it is served.

Honest means neither side is judged on outcomes it was fitted on. The candidate's
scores are cross-fitted: every outcome is scored by a fit that did not see it.
The version served now is judged only on outcomes that arrived after it was
fitted (`Sample.arrival` beyond what it saw). When too few of those arrived to
tell anything (fewer than `min_each_class` of either class), the candidate is
judged against the prior instead, on every outcome: the prior was never fitted
on the client's outcomes. The served weights used to be judged on the very
outcomes they had been fitted on, so they always looked better than any honest
candidate and every client's learning froze after its first few refits.

Noise: one standard error of the AUC difference, from a paired, stratified
bootstrap over the judged outcomes with a fixed seed (so a refit is
deterministic). A candidate is refused when it is worse by more than that.

Few outcomes: while a client has fewer than `FitSettings.early_outcomes`, a
candidate must be better than the baseline by more than the noise, not merely
not worse by more than it. At 30 outcomes one standard error is about 0.06 AUC,
so "not worse" let through nearly every candidate, most of them noise moves, and
clients at 30 outcomes were served slightly worse than their prior in the
learning benchmark. On 30-60 outcomes that say nothing, a cross-fitted gain
above zero shows in about half of the refits, above the noise in one in five.
Until the outcomes speak that clearly, the prior (or the version served) stays.
Later the noise has shrunk and the served version is judged only on the outcomes
that arrived since it, a few per refit: demanding a clear gain on those would
freeze learning, so "not worse" holds there.
"""

from dataclasses import dataclass

import numpy as np

from app.personalization.numerics import PairRanks, roc_auc

BOOTSTRAP_ROUNDS = 200
# Resampled counts held at once by the bootstrap (rounds x outcomes), ~8 bytes each.
BOOTSTRAP_CELLS = 1_000_000
AGAINST_CURRENT = "current"
AGAINST_PRIOR = "prior"


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the candidate may be served, against what and on how many outcomes."""

    passed: bool
    against: str
    judged: int
    auc_candidate: float
    auc_baseline: float
    noise: float


def paired_noise(
    candidate: np.ndarray,
    baseline: np.ndarray,
    won: np.ndarray,
    weight: np.ndarray,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> float:
    """Standard error of AUC(candidate) - AUC(baseline) over the same outcomes.

    Positives and negatives are resampled separately, so every round has both.
    A resample is the same outcomes counted 0, 1, 2... times: each round weighs
    every outcome by its count, and the rounds are computed together, a batch
    at a time (memory bounded by BOOTSTRAP_CELLS whatever the outcome count).
    """
    rng = np.random.default_rng(seed)
    won = np.asarray(won, dtype=bool)
    weight = np.asarray(weight, dtype=float)
    wp, wn = weight[won], weight[~won]
    pairs = [
        PairRanks(np.asarray(s)[won], np.asarray(s)[~won])
        for s in (candidate, baseline)
    ]
    per_batch = max(1, BOOTSTRAP_CELLS // max(len(won), 1))
    diffs = []
    for start in range(0, rounds, per_batch):
        batch = min(per_batch, rounds - start)
        positive = _resampled(rng, len(wp), batch) * wp
        negative = _resampled(rng, len(wn), batch) * wn
        aucs = [pair.aucs(positive, negative) for pair in pairs]
        diffs.append(aucs[0] - aucs[1])
    return float(np.concatenate(diffs).std(ddof=1))


def _resampled(rng: np.random.Generator, n: int, rounds: int) -> np.ndarray:
    """rounds x n: how often each of n outcomes is drawn in each round's resample
    of n with replacement."""
    picks = rng.integers(0, n, (rounds, n)) + n * np.arange(rounds)[:, None]
    return np.bincount(picks.ravel(), minlength=rounds * n).reshape(rounds, n)


def judge(
    candidate: np.ndarray,
    current: np.ndarray,
    prior: np.ndarray,
    won: np.ndarray,
    weight: np.ndarray,
    unseen_by_current: np.ndarray,
    *,
    min_each_class: int,
    noise_margin: float = 1.0,
    tolerance: float = 0.0,
    must_gain: bool = False,
) -> Verdict:
    """Compare cross-fitted `candidate` scores with the current version's or the
    prior's scores of the same outcomes (see the module docstring).

    `unseen_by_current` marks the outcomes the current version was not fitted on.
    `must_gain`: the candidate must be better by more than the noise (few
    outcomes), instead of not worse by more than it.
    """
    fresh = unseen_by_current & (weight > 0)
    enough = (
        int((fresh & won).sum()) >= min_each_class
        and int((fresh & ~won).sum()) >= min_each_class
    )
    if enough:
        judged, baseline, against = fresh, current, AGAINST_CURRENT
    else:
        judged, baseline, against = weight > 0, prior, AGAINST_PRIOR
    c, b, y, w = candidate[judged], baseline[judged], won[judged], weight[judged]
    auc_candidate, auc_baseline = roc_auc(c, y, w), roc_auc(b, y, w)
    noise = noise_margin * paired_noise(c, b, y, w)
    gain = auc_candidate - auc_baseline
    passed = gain > noise if must_gain else gain >= -(noise + tolerance)
    return Verdict(
        passed, against, int(judged.sum()), auc_candidate, auc_baseline, noise
    )


def beats(
    candidate: np.ndarray,
    baseline: np.ndarray,
    won: np.ndarray,
    weight: np.ndarray,
    *,
    noise_margin: float = 1.0,
) -> bool:
    """Whether cross-fitted `candidate` scores rank the outcomes better than
    `baseline`'s by more than the noise: a more complex model must earn its place."""
    gain = roc_auc(candidate, won, weight) - roc_auc(baseline, won, weight)
    return gain > noise_margin * paired_noise(candidate, baseline, won, weight)
