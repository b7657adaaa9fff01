"""Validation of weight sets: ten finite, non-negative numbers keyed by factor."""

import math
from collections.abc import Mapping

from app.scoring.factors import FACTOR_KEYS


class WeightsError(ValueError):
    """A weight set that cannot be used for scoring; the message says why."""


def validate_weights(weights: Mapping[str, object]) -> tuple[float, ...]:
    """Check a {factor key: weight} mapping and return the weights in factor order.

    Missing factors weigh 0; unknown keys, non-numbers, NaN, infinities and negative
    weights are rejected because they would make scores meaningless.
    """
    if not isinstance(weights, Mapping):
        raise WeightsError("weights must be an object keyed by factor")
    unknown = sorted(set(weights) - set(FACTOR_KEYS))
    if unknown:
        raise WeightsError(
            f"unknown factor(s) {', '.join(map(str, unknown))}; "
            f"valid factors: {', '.join(FACTOR_KEYS)}"
        )
    ordered = []
    for key in FACTOR_KEYS:
        value = weights.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise WeightsError(f"weight for {key} must be a number")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise WeightsError(f"weight for {key} must be finite and non-negative")
        ordered.append(value)
    if sum(ordered) <= 0:
        raise WeightsError("at least one weight must be positive")
    return tuple(ordered)


def weights_mapping(ordered: tuple[float, ...]) -> dict[str, float]:
    """Turn weights in factor order back into a {factor key: weight} mapping."""
    return dict(zip(FACTOR_KEYS, ordered, strict=True))
