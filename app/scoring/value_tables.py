"""Learned value tables: a personalised client's own value for each level of a factor.

A table for a factor is a piecewise-linear map on the factor's seed value (the
value the ten fixed rules give, 0..1): the product fixes its knots (the levels
the factor takes, or bin edges of a continuous one), learning fixes the values at
the knots, values in between are interpolated and values outside the knots take
the nearest end. A table whose values equal its knots is the identity, so the
seed's value is the special case, and score = 100 x sum(weight x value) still
holds with every factor explained as weight, value and contribution.

`default`, `industry_prior` and `custom` clients have no tables (`IDENTITY`); a
factor without a table keeps its seed value exactly.
"""

import math
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from app.scoring.factors import FACTOR_KEYS

_BINARY = (0.0, 1.0)

KNOTS: Mapping[str, tuple[float, ...]] = MappingProxyType(
    {
        # Present or not: a table may reverse these (a negative effect).
        "lead_source": _BINARY,
        "has_valid_email": _BINARY,
        "has_company_match": _BINARY,
        "industry_match": _BINARY,
        # 1 - days/90, continuous: edges of the 0-30, 30-60 and 60-90 day bins.
        "days_since_created": (0.0, 0.33, 0.67, 1.0),
        # empty, unqualified, new, open (and unknown statuses), in_progress, qualified
        "lead_status": (0.0, 0.1, 0.3, 0.5, 0.7, 1.0),
        # Continuous: quarters of the engagement scale.
        "engagement_score": (0.0, 0.25, 0.5, 0.75, 1.0),
        # Takes the values k/9. Most leads have an email and fill in four to all
        # nine fields, so the knots are two fields apart there; below three
        # fields (no email, almost nothing known) leads are rare and share one
        # segment.
        "profile_completeness": (0.0, 3 / 9, 5 / 9, 7 / 9, 1.0),
        # no title, other title, manager/head, director/vp/chief, ceo/founder/owner;
        # with an ICP size range the value is continuous and interpolated.
        "company_size_bucket": (0.0, 0.3, 0.6, 0.8, 1.0),
        # inactive, notes in the last 30 days, has deals
        "recency_score": (0.2, 0.5, 0.7),
    }
)
"""The seed values at which each factor's table holds a learned value."""


def _checked(key: object, values: object) -> tuple[float, ...]:
    """A table's values as floats; ValueError names the factor and the problem."""
    if key not in KNOTS:
        raise ValueError(f"value table for unknown factor {key!r}")
    knots = KNOTS[key]  # type: ignore[index]
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ValueError(f"value table {key!r} must be a list of numbers")
    if len(values) != len(knots):
        raise ValueError(
            f"value table {key!r} must hold {len(knots)} values (one per knot), "
            f"has {len(values)}"
        )
    checked = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"value table {key!r} must hold numbers only")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise ValueError(f"value table {key!r} values must be between 0 and 1")
        checked.append(float(value))
    return tuple(checked)


def _interpolate(
    x: float,
    knots: tuple[float, ...],
    table: tuple[float, ...],
    slopes: tuple[float, ...],
) -> float:
    if x <= knots[0]:
        return table[0]
    if x >= knots[-1]:
        return table[-1]
    j = bisect_right(knots, x) - 1
    return table[j] + slopes[j] * (x - knots[j])


@dataclass(frozen=True, slots=True)
class ValueTables:
    """Per factor key, the learned values at its knots; an absent factor keeps its
    seed value. Immutable; build once per weight version and reuse per lead."""

    tables: Mapping[str, tuple[float, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    # Per learned factor: (position, knots, values, slopes), for `apply`.
    _segments: tuple[
        tuple[int, tuple[float, ...], tuple[float, ...], tuple[float, ...]], ...
    ] = field(init=False, repr=False, compare=False)
    _flags: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tables, Mapping):
            raise ValueError("value tables must map factor keys to lists of values")
        checked = {key: _checked(key, values) for key, values in self.tables.items()}
        ordered = {key: checked[key] for key in FACTOR_KEYS if key in checked}
        segments = []
        for position, key in enumerate(FACTOR_KEYS):
            if key not in ordered:
                continue
            knots, values = KNOTS[key], ordered[key]
            slopes = tuple(
                (values[j + 1] - values[j]) / (knots[j + 1] - knots[j])
                for j in range(len(knots) - 1)
            )
            segments.append((position, knots, values, slopes))
        object.__setattr__(self, "tables", MappingProxyType(ordered))
        object.__setattr__(self, "_segments", tuple(segments))
        object.__setattr__(self, "_flags", tuple(key in ordered for key in FACTOR_KEYS))

    def __hash__(self) -> int:
        return hash(tuple(self.tables.items()))

    def apply(self, seed_values: Sequence[float]) -> tuple[float, ...]:
        """The ten values to score with: each learned factor's table at its seed
        value, the others unchanged. Runs per lead, so the slopes are precomputed."""
        if not self._segments:
            return tuple(seed_values)
        values = list(seed_values)
        for position, knots, table, slopes in self._segments:
            values[position] = _interpolate(values[position], knots, table, slopes)
        return tuple(values)

    def apply_one(self, position: int, seed_value: float) -> float:
        """The value factor number `position` (FACTOR_KEYS order) scores with."""
        for index, knots, table, slopes in self._segments:
            if index == position:
                return _interpolate(seed_value, knots, table, slopes)
        return seed_value

    def learned(self, key: str) -> bool:
        """Whether the factor's value comes from a learned table (not the seed's)."""
        if key not in KNOTS:
            raise KeyError(key)
        return key in self.tables

    @property
    def sources(self) -> tuple[bool, ...]:
        """Per factor in FACTOR_KEYS order: True where a learned table applies."""
        return self._flags

    def to_json(self) -> dict[str, list[float]]:
        """{factor key: values at its knots} for the learned factors only."""
        return {key: list(values) for key, values in self.tables.items()}

    @classmethod
    def from_json(cls, obj: object) -> "ValueTables":
        """Read stored or received tables strictly; ValueError says what is wrong."""
        if not isinstance(obj, Mapping):
            raise ValueError("value tables must be an object of factor key -> list")
        for key in obj:
            if not isinstance(key, str):
                raise ValueError("value table keys must be factor keys")
        return cls(MappingProxyType(dict(obj)))


IDENTITY = ValueTables()
"""No learned tables: every factor keeps its seed value."""
