"""Label bands learned from a client's own scores and outcomes.

Fixed thresholds (80 / 60 / 40 on 100 x sum of weight x value) lose their meaning
once learned weights move the score distribution: Hot may end up holding almost no
one. Here the thresholds are chosen so that the labels say what they promise:

- Hot is a group that converts at >= HOT_LIFT x the base rate and holds HOT_SHARE
  (5-30 %) of the leads. Among the thresholds that qualify, those meeting the rule
  with room to spare are preferred (next month's leads should meet it too), and
  of those the one nearest the previous Hot, so labels move no more than they must.
- Warm starts at the lowest score whose leads convert at >= the base rate, read
  from a monotone (isotonic) fit of conversion on score, so one lucky low score
  cannot stretch it; Cool splits the rest so that it converts above Cold, as
  evenly as the data allow. Warm, Cool and Cold each hold >= MIN_BAND_SHARE.
- Each threshold moves at most MAX_STEP points from the previous version's, so a
  salesperson never sees the labels jump; a distribution far off the previous
  bands is reached over a few versions. A target fewer than MIN_MOVE points away
  moves nothing (a Hot that still keeps its promise stays), so a trickle of new
  outcomes does not relabel every lead.
- Too few outcomes (< MIN_OUTCOMES leads or < MIN_CONVERSIONS conversions), or
  scores that single out no converting group (all converted, none, heavy ties),
  leave the previous bands unchanged.

A lead is (score under the candidate weights, converted or not): no PII, no clock.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from app.scoring import DEFAULT_BANDS, LabelBands

MIN_OUTCOMES = 30
MIN_CONVERSIONS = 5
HOT_LIFT = 1.7  # Hot converts at least this many times the base rate
HOT_SHARE = (0.05, 0.30)  # the share of leads Hot holds, inclusive
WARM_LIFT = 1.0  # Warm's lowest scores still convert at the base rate or more
# Hot thresholds that meet the rule with this much room are preferred.
_HOT_SHARE_ROOMY = (0.08, 0.25)
_HOT_LIFT_ROOMY = 2.0
MIN_BAND_SHARE = 0.05  # Warm, Cool and Cold each hold at least this share
MAX_STEP = 5  # points a threshold may move from one version to the next
# A threshold whose target is nearer than this stays: outcomes trickling in move
# targets by a point or two, and every change of bands relabels (and rewrites in
# the CRM) the client's leads.
MIN_MOVE = 3
LOWEST, HIGHEST = 1, 99  # the range of learned thresholds


@dataclass(frozen=True, slots=True)
class ScoredOutcome:
    """One lead: its 0-100 score under the candidate weights, and whether it
    converted."""

    score: int
    converted: bool


class _Histogram:
    """Leads and conversions per score 0..100, with counts for any score range."""

    def __init__(self, outcomes: Iterable[ScoredOutcome]) -> None:
        leads = [0] * 101
        wins = [0] * 101
        for outcome in outcomes:
            score = min(100, max(0, int(outcome.score)))
            leads[score] += 1
            wins[score] += bool(outcome.converted)
        self.leads_at, self.wins_at = leads, wins
        # Leads (conversions) scoring >= t at index t; index 101 is empty.
        self._leads = _suffix_sums(leads)
        self._wins = _suffix_sums(wins)
        self.total = self._leads[0]
        self.converted = self._wins[0]

    def count(self, low: int, high: int = 101) -> int:
        """Leads scoring in [low, high)."""
        return self._leads[low] - self._leads[high]

    def rate(self, low: int, high: int = 101) -> float | None:
        """Conversion rate of leads scoring in [low, high); None when empty."""
        leads = self.count(low, high)
        if leads == 0:
            return None
        return (self._wins[low] - self._wins[high]) / leads


def _suffix_sums(values: list[int]) -> list[int]:
    sums = [0] * (len(values) + 1)
    for index in range(len(values) - 1, -1, -1):
        sums[index] = sums[index + 1] + values[index]
    return sums


class Targets(NamedTuple):
    """Thresholds the data ask for; None where they do not place that one."""

    hot: int
    warm: int | None
    cool: int | None


def learn_bands(
    outcomes: Iterable[ScoredOutcome], previous: LabelBands = DEFAULT_BANDS
) -> LabelBands:
    """Hot/Warm/Cool thresholds from scored outcomes, moved at most MAX_STEP
    points from `previous`; `previous` itself when the data do not support a
    change."""
    targets = target_bands(outcomes, previous)
    if targets is None:
        return previous
    return _step_towards(previous, targets)


def target_bands(
    outcomes: Iterable[ScoredOutcome], previous: LabelBands = DEFAULT_BANDS
) -> Targets | None:
    """The thresholds the data ask for (no step limit), or None when they ask for
    none: too few outcomes, or no group that Hot could honestly name."""
    histogram = _Histogram(outcomes)
    if histogram.total < MIN_OUTCOMES or histogram.converted < MIN_CONVERSIONS:
        return None
    base = histogram.converted / histogram.total
    hot = _hot_threshold(histogram, base, previous.hot)
    if hot is None:
        return None
    minimum = max(1, math.ceil(MIN_BAND_SHARE * histogram.total))
    warm = _warm_threshold(histogram, base, hot, minimum)
    if warm is None:
        # Nothing below Hot converts at the base rate: Warm takes the upper third
        # of the rest by score, so it still means "next best".
        warm = _split(histogram, hot, 1 / 3)
    cool = None if warm is None else _cool_threshold(histogram, hot, warm, minimum)
    return Targets(hot, warm, cool)


def _hot_threshold(histogram: _Histogram, base: float, previous: int) -> int | None:
    qualifying, roomy = [], []
    for threshold in range(LOWEST + 2, HIGHEST + 1):  # room for Warm and Cool below
        share = histogram.count(threshold) / histogram.total
        rate = histogram.rate(threshold)
        if rate is None or rate < HOT_LIFT * base:
            continue
        if HOT_SHARE[0] <= share <= HOT_SHARE[1]:
            qualifying.append(threshold)
            low, high = _HOT_SHARE_ROOMY
            if low <= share <= high and rate >= _HOT_LIFT_ROOMY * base:
                roomy.append(threshold)
    choices = roomy or qualifying
    if not choices:
        return None
    # Nearest the previous threshold; between two equally near, the higher.
    chosen = min(choices, key=lambda t: (abs(t - previous), -t))
    if previous in qualifying and abs(chosen - previous) < MIN_MOVE:
        return previous  # it still keeps its promise: no need to relabel
    return chosen


def _warm_threshold(
    histogram: _Histogram, base: float, hot: int, minimum: int
) -> int | None:
    """The lowest score under Hot whose fitted conversion is >= WARM_LIFT x base,
    moved so that Warm holds `minimum` leads and Cool and Cold twice that."""
    levels = _isotonic_levels(histogram)
    start = next(
        (
            score
            for score in range(LOWEST + 1, hot)
            if histogram.leads_at[score] and levels[score] >= WARM_LIFT * base
        ),
        None,
    )
    if start is None:
        return None
    for threshold in range(start, LOWEST, -1):  # widen Warm to its minimum share
        if histogram.count(threshold, hot) >= minimum:
            break
    else:
        return None
    while threshold < hot - 1 and histogram.count(0, threshold) < 2 * minimum:
        threshold += 1  # narrow it to leave Cool and Cold theirs
    hot_rate, warm_rate = histogram.rate(hot), histogram.rate(threshold, hot)
    if warm_rate is None or hot_rate is None or warm_rate >= hot_rate:
        return None
    return threshold


def _isotonic_levels(histogram: _Histogram) -> list[float]:
    """Conversion as a non-decreasing function of score (pool adjacent
    violators over the scores that occur), indexed by score 0..100."""
    blocks: list[list[float]] = []  # [first score, leads, conversions]
    for score in range(101):
        leads = histogram.leads_at[score]
        if not leads:
            continue
        blocks.append([score, leads, histogram.wins_at[score]])
        while len(blocks) > 1 and (
            blocks[-2][2] * blocks[-1][1] > blocks[-1][2] * blocks[-2][1]
        ):  # the lower block converts better: pool the two
            _, leads, wins = blocks.pop()
            blocks[-1][1] += leads
            blocks[-1][2] += wins
    levels = [0.0] * 101
    for index, (first, leads, wins) in enumerate(blocks):
        end = int(blocks[index + 1][0]) if index + 1 < len(blocks) else 101
        for score in range(int(first), end):
            levels[score] = wins / leads
    return levels


def _cool_threshold(
    histogram: _Histogram, hot: int, warm: int, minimum: int
) -> int | None:
    warm_rate = histogram.rate(warm, hot)
    rest = histogram.count(0, warm)
    best: tuple[int, int] | None = None  # (distance from an even split, threshold)
    for threshold in range(LOWEST, warm):
        cool_leads = histogram.count(threshold, warm)
        cold_leads = histogram.count(0, threshold)
        if cool_leads < minimum or cold_leads < minimum:
            continue
        cool_rate = histogram.rate(threshold, warm)
        cold_rate = histogram.rate(0, threshold)
        assert cool_rate is not None and cold_rate is not None
        if not cold_rate < cool_rate or (
            warm_rate is not None and cool_rate >= warm_rate
        ):
            continue
        balance = abs(cool_leads - cold_leads)
        if best is None or balance < best[0]:
            best = (balance, threshold)
    if best is not None:
        return best[1]
    # The rest does not split into a Cool converting above Cold: halve it by
    # score, so Cool still means "the upper half of the rest".
    return _split(histogram, warm, 1 / 2) if rest else None


def _split(histogram: _Histogram, below: int, fraction: float) -> int | None:
    """The highest threshold under `below` that puts at least `fraction` of the
    leads scoring under `below` above it; None when none does."""
    rest = histogram.count(0, below)
    for threshold in range(below - 1, LOWEST - 1, -1):
        if rest and histogram.count(threshold, below) >= fraction * rest:
            return threshold
    return None


def _step_towards(previous: LabelBands, targets: Targets) -> LabelBands:
    """Each threshold moved towards its target by at most MAX_STEP points (an
    absent or nearby target keeps the previous value), in range and strictly
    decreasing.

    The repairs keep Warm under Hot and Cool under Warm; as the previous bands
    were strictly decreasing, they never move a threshold more than MAX_STEP
    (a Hot at most MAX_STEP lower leaves Warm room at most MAX_STEP lower).
    """

    def step(old: int, new: int | None) -> int:
        if new is None or abs(new - old) < MIN_MOVE:
            return old
        return min(old + MAX_STEP, max(old - MAX_STEP, new))

    hot = min(HIGHEST, max(LOWEST + 2, step(previous.hot, targets.hot)))
    warm = min(hot - 1, max(LOWEST + 1, step(previous.warm, targets.warm)))
    cool = min(warm - 1, max(LOWEST, step(previous.cool, targets.cool)))
    return LabelBands(hot=hot, warm=warm, cool=cool)


def bands_to_json(bands: LabelBands) -> dict[str, int]:
    """The JSON form stored with a weight version and returned by /config."""
    return {"hot": bands.hot, "warm": bands.warm, "cool": bands.cool}


def bands_from_json(raw: object) -> LabelBands:
    """Bands from their JSON form; ValueError says what is wrong."""
    if not isinstance(raw, Mapping):
        raise ValueError("bands must be an object with hot, warm and cool")
    values = {}
    for name in ("hot", "warm", "cool"):
        value = raw.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"bands.{name} must be an integer")
        values[name] = value
    return LabelBands(**values)  # checks 0 < cool < warm < hot <= 100
