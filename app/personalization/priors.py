"""Industry prior weights: the documented starting point for a known vertical.

A client whose vertical we know, but who has fewer than five similar clients with
feedback, is scored with its vertical's prior instead of the generic defaults. The
table lives in `data/industry_priors.json` with a one-line rationale per vertical so
that the admin page can say *why* a weight is what it is.
"""

import json
import math
from importlib import resources
from types import MappingProxyType

from app.personalization.taxonomy import VERTICALS
from app.scoring import DEFAULT_WEIGHTS, FACTOR_KEYS, validate_weights

Weights = tuple[float, ...]
"""Ten non-negative weights in FACTOR_KEYS order, summing to 1."""

DEFAULT: Weights = tuple(DEFAULT_WEIGHTS[key] for key in FACTOR_KEYS)


def _load() -> tuple[dict[str, Weights], dict[str, str]]:
    raw = json.loads(
        resources.files("app.personalization")
        .joinpath("data/industry_priors.json")
        .read_text(encoding="utf-8")
    )["priors"]
    weights: dict[str, Weights] = {}
    rationales: dict[str, str] = {}
    for vertical, entry in raw.items():
        if vertical not in VERTICALS:
            raise ValueError(f"industry prior for unknown vertical {vertical!r}")
        ordered = validate_weights(entry["weights"])
        if set(entry["weights"]) != set(FACTOR_KEYS):
            raise ValueError(f"industry prior {vertical!r} must name all ten factors")
        if not math.isclose(sum(ordered), 1.0, abs_tol=1e-9):
            raise ValueError(f"industry prior {vertical!r} must sum to 1")
        rationale = entry["rationale"].strip()
        if not rationale or "\n" in rationale:
            raise ValueError(f"industry prior {vertical!r} needs a one-line rationale")
        weights[vertical] = ordered
        rationales[vertical] = rationale
    return weights, rationales


_WEIGHTS, _RATIONALES = _load()

PRIORS: MappingProxyType = MappingProxyType(_WEIGHTS)
"""Vertical key -> prior weights in FACTOR_KEYS order."""

RATIONALES: MappingProxyType = MappingProxyType(_RATIONALES)
"""Vertical key -> one-line reason for its prior weights."""


def prior_for(vertical: str | None) -> Weights | None:
    """The vertical's prior weights, or None when the vertical is unknown/absent."""
    if vertical is None:
        return None
    return _WEIGHTS.get(vertical)


def as_mapping(weights: Weights) -> dict[str, float]:
    """Weights in factor order as the {factor key: weight} mapping the API returns."""
    return dict(zip(FACTOR_KEYS, weights, strict=True))
