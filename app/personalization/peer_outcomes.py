"""Similar clients' outcomes as pooling reads them: at most a day's worth per day
of a peer, held as arrays for the length of a refit run."""

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
