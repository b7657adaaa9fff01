"""Similar clients' outcomes as pooling reads them: at most a day's worth per day
of a peer, held as arrays for the length of a refit run."""

import hashlib
import itertools
from collections.abc import Hashable, Iterable, Sequence

import numpy as np

from app.personalization.outcomes import N_FACTORS, Sample

# Outcomes of one day of a peer that count toward others' weights: room for an
# honest backfill of a few hundred outcomes when a CRM connects, not for 1,000s.
POOL_PER_DAY = 200


def cap_per_day(
    dated: Iterable[tuple[Hashable, Sample]], per_day: int = POOL_PER_DAY
) -> list[Sample]:
    """The samples, in order, keeping at most `per_day` of each day.

    A burst of outcomes on one day counts toward other clients' weights as at
    most `per_day` of them; the client's own learning uses all of them.
    """
    seen: dict[Hashable, int] = {}
    kept = []
    for day, sample in dated:
        if seen.get(day, 0) < per_day:
            seen[day] = seen.get(day, 0) + 1
            kept.append(sample)
    return kept


class PeerOutcomes(Sequence[Sample]):
    """A peer's outcomes as arrays of factor values and rewards: a sixth of the
    memory of Sample objects, pooled without converting them again, and known
    to remembered results by a token (they never change). Samples read from it
    carry no key: pooling uses values and rewards only."""

    _made = itertools.count()

    def __init__(self, samples: Iterable[Sample]) -> None:
        kept = list(samples)
        self.values = np.array([p.values for p in kept], dtype=float)
        self.values = self.values.reshape(-1, N_FACTORS)
        self.rewards = np.array([p.reward for p in kept], dtype=float)
        self.values.flags.writeable = self.rewards.flags.writeable = False
        self.token = ("outcomes", next(self._made))

    def __len__(self) -> int:
        return len(self.rewards)

    def __getitem__(self, index: int) -> Sample:  # type: ignore[override]
        return Sample(tuple(self.values[index].tolist()), float(self.rewards[index]))


def usable_arrays(
    outcomes: Sequence[Sample],
) -> tuple[np.ndarray, np.ndarray, Hashable]:
    """Factor values and rewards of the outcomes with a reward, and what stands
    for them in remembered results (a digest of both, or PeerOutcomes' token)."""
    if isinstance(outcomes, PeerOutcomes):
        keep = outcomes.rewards != 0
        return outcomes.values[keep], outcomes.rewards[keep], outcomes.token
    usable = [p for p in outcomes if p.reward != 0]
    x = np.array([p.values for p in usable], dtype=float).reshape(-1, N_FACTORS)
    rewards = np.array([p.reward for p in usable], dtype=float)
    digest = hashlib.blake2b(x.tobytes() + rewards.tobytes(), digest_size=16)
    return x, rewards, digest.digest()
