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

from app.personalization.numerics import grouped_auc, roc_auc

BOOTSTRAP_ROUNDS = 200
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
    """
    rng = np.random.default_rng(seed)
    positives, negatives = np.flatnonzero(won), np.flatnonzero(~won)
    # A resample is the same outcomes counted 0, 1, 2... times: rank the scores
    # once and weigh each outcome by its count (the same AUCs, no sorting).
    ranked = [np.unique(s, return_inverse=True)[1] for s in (candidate, baseline)]
    won_weight, lost_weight = weight * won, weight * ~won
    diffs = np.empty(rounds)
    for i in range(rounds):
        pick = np.concatenate(
            [
                rng.choice(positives, len(positives)),
                rng.choice(negatives, len(negatives)),
            ]
        )
        counts = np.bincount(pick, minlength=len(won))
        aucs = [
            grouped_auc(group, counts * won_weight, counts * lost_weight)
            for group in ranked
        ]
        diffs[i] = aucs[0] - aucs[1]
    return float(diffs.std(ddof=1))


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
