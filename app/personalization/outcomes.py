"""Outcomes as learning sees them: samples, rewards and how much each one counts.

A sample is only (ten factor values, reward) plus an opaque key and its arrival
order: lead PII never reaches this layer.

Grades: a conversion is what a client wants to predict. Replies and clicks are
weaker evidence: they count as positives, but all of them together weigh at most
as much as `WEAK_BUDGET` conversions, and that budget shrinks as real
conversions arrive, to nothing at `WEAK_BUDGET` conversions. With no conversions
yet, a few dozen clicks teach the model what engagement looks like; once a
client has 30 conversions, clicks and replies no longer move its weights, so
plentiful engagement cannot pull them away from what converts. (A budget that
only halved at 30 conversions left a peer's random clicks a quarter of its
positives in the learning benchmark's clicks_plentiful world.)
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from app.scoring import FACTOR_KEYS

REWARDS: Mapping[str, float] = MappingProxyType(
    {"converted": 1.0, "replied": 0.5, "clicked": 0.3, "ignored": -0.5, "bounced": -1.0}
)
"""Feedback action -> reward (the seed's API reference; clicked is +0.3)."""

CONVERSION = REWARDS["converted"]
N_FACTORS = len(FACTOR_KEYS)
# Weak positives (replies, clicks) together weigh at most this many conversions
# while there are none, and nothing once this many conversions arrived.
WEAK_BUDGET = 30.0


@dataclass(frozen=True, slots=True)
class Sample:
    """One outcome: the lead's ten factor values when it was scored, and the reward.

    `key` is an opaque, stable id (the keyed hash of the lead id) used only to put
    the sample on the same side of a held-out split at every refit. `arrival`
    orders outcomes by when they were recorded (0 when unknown): a weight version
    remembers the last arrival it was fitted on, so later refits can judge it on
    outcomes it never saw.
    """

    values: tuple[float, ...]
    reward: float
    key: str = ""
    arrival: int = 0


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


def weak_scale(rewards: np.ndarray) -> float:
    """The factor every weak positive's reward is multiplied by (see the module)."""
    conversions = float((rewards >= CONVERSION).sum())
    weak = rewards[(rewards > 0) & (rewards < CONVERSION)]
    if not len(weak):
        return 1.0
    budget = WEAK_BUDGET * max(0.0, 1.0 - conversions / WEAK_BUDGET)
    return min(1.0, budget / float(weak.sum()))


def graded(
    rewards: Sequence[float] | np.ndarray,
    negative_weight: float | None = None,
    *,
    settle_weak: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(won, weight) per outcome: won = reward > 0, weights graded as the module says.

    Conversions weigh 1, weak positives their reward times `weak_scale`, negatives
    |reward| — or `negative_weight` each when given (pooling counts a bounce like
    any other loss: bounces follow email validity, not interest).

    `settle_weak` (pooling, which teaches other clients what converts): once the
    outcomes hold WEAK_BUDGET conversions, a reply or click is a lead that did
    not convert, a loss like any other, as a plain logistic regression on won /
    lost reads it. Dropping them instead left the losses that remained mostly
    bounces where clicks were common, and a newcomer's prior from such peers
    closed 28 % of the gap to the best weighted sum instead of 39 % (learning
    benchmark, clicks_plentiful, development seeds 1-4; other worlds unchanged).
    """
    r = np.asarray(rewards, dtype=float)
    won = r > 0
    weight = np.abs(r)
    weak = won & (r < CONVERSION)
    if settle_weak and (r >= CONVERSION).sum() >= WEAK_BUDGET:
        won = won & ~weak
    else:
        weight[weak] *= weak_scale(r)
    if negative_weight is not None:
        weight[~won] = negative_weight
    return won, weight
