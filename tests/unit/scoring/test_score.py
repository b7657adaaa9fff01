"""Score arithmetic, rounding, clamping, labels, and the reference's example leads."""

from datetime import UTC, datetime

import pytest

from app.scoring import (
    DEFAULT_BANDS,
    DEFAULT_WEIGHTS,
    FACTOR_KEYS,
    FACTOR_NAMES,
    LabelBands,
    WeightsError,
    compute_score,
    score_lead,
    validate_weights,
)
from tests.examples import JANE, JOHN

WEIGHTS = tuple(DEFAULT_WEIGHTS.values())
ONE_HOT = (1.0,) + (0.0,) * 9


def weights_with_first(first: float) -> tuple[float, ...]:
    return (first,) + (0.0,) * 9


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (0.0, 0),
        (0.004999, 0),
        (0.005, 1),  # x.5 rounds up (Go's math.Round); Python's round() gives 0
        (0.125, 13),  # round(12.5) == 12 in Python, 13 here
        (0.425, 43),
        (0.4449, 44),
        (0.995, 100),
        (1.0, 100),
        (1.7, 100),  # clamped
    ],
)
def test_rounding_is_half_up_and_clamped(total: float, expected: int) -> None:
    assert compute_score(ONE_HOT, weights_with_first(total)) == expected


def test_python_round_would_be_wrong_here() -> None:
    assert round(12.5) == 12 and compute_score(ONE_HOT, weights_with_first(0.125)) == 13


def test_score_never_negative_or_nan() -> None:
    assert compute_score((0.0,) * 10, WEIGHTS) == 0
    assert compute_score(ONE_HOT, weights_with_first(float("nan"))) == 0


@pytest.mark.parametrize(
    ("score", "label"),
    [
        (0, "Cold Lead"),
        (39, "Cold Lead"),
        (40, "Cool Lead"),
        (59, "Cool Lead"),
        (60, "Warm Lead"),
        (79, "Warm Lead"),
        (80, "Hot Lead"),
        (100, "Hot Lead"),
    ],
)
def test_label_edges(score: int, label: str) -> None:
    assert DEFAULT_BANDS.label_for(score) == label
    assert DEFAULT_BANDS.table()[score] == label


def test_label_bands_are_configurable_and_validated() -> None:
    bands = LabelBands(hot=90, warm=70, cool=50)
    assert bands.label_for(89) == "Warm Lead"
    assert bands.label_for(49) == "Cold Lead"
    with pytest.raises(ValueError, match="cool < warm < hot"):
        LabelBands(hot=60, warm=70, cool=50)


def test_weights_validation() -> None:
    assert validate_weights(DEFAULT_WEIGHTS) == WEIGHTS
    assert validate_weights({"lead_status": 1})[FACTOR_KEYS.index("lead_status")] == 1.0
    for bad, message in [
        ({"lead_status": -0.1}, "non-negative"),
        ({"lead_status": float("inf")}, "finite"),
        ({"lead_status": float("nan")}, "finite"),
        ({"lead_status": "0.5"}, "number"),
        ({"lead_status": True}, "number"),
        ({"colour": 0.5}, "unknown factor"),
        ({}, "positive"),
        ([0.1] * 10, "object"),
    ]:
        with pytest.raises(WeightsError, match=message):
            validate_weights(bad)  # type: ignore[arg-type]


def by_hand(values: list[float]) -> int:
    """Σ weight x value in factor order, x100, clamped, half rounds up."""
    total = 0.0
    for weight, value in zip(WEIGHTS, values, strict=True):
        total += weight * value
    scaled = min(100.0, max(0.0, total * 100))
    return int(scaled) + (1 if scaled - int(scaled) >= 0.5 else 0)


def expected_john(now: datetime) -> int:
    """Everything is 1 except recency (ages) and activity (has deals: 0.7)."""
    days = int((now - datetime(2024, 12, 1, tzinfo=UTC)).total_seconds() / 86400)
    recency = max(0.0, min(1.0, 1 - days / 90))
    return by_hand([1, 1, 1, 1, recency, 1, 1, 1, 1, 0.7])


def expected_jane() -> int:
    """Email, valid, company; open 0.5; 3 opens 0.12; 3/9 complete; manager 0.6; 0.2."""
    return by_hand([1, 1, 1, 0, 0, 0.5, 3 / 10 * 0.4, 3 / 9, 0.6, 0.2])


@pytest.mark.parametrize(
    "now",
    [
        datetime(2024, 12, 1, tzinfo=UTC),
        datetime(2024, 12, 20, 15, tzinfo=UTC),
        datetime(2025, 1, 15, tzinfo=UTC),
        datetime(2026, 11, 29, tzinfo=UTC),
    ],
)
def test_reference_examples(now: datetime) -> None:
    john = score_lead(JOHN, WEIGHTS, now)
    jane = score_lead(JANE, WEIGHTS, now)
    assert john.score == expected_john(now)
    assert jane.score == expected_jane() == 53
    assert jane.label == "Cool Lead"
    assert john.label == DEFAULT_BANDS.label_for(john.score)


def test_on_creation_day_john_is_hot_with_every_factor_reported() -> None:
    result = score_lead(JOHN, WEIGHTS, datetime(2024, 12, 1, 9, tzinfo=UTC))
    assert (result.score, result.label) == (99, "Hot Lead")  # 98.5 rounds up
    assert [f.key for f in result.factors] == list(FACTOR_KEYS)
    assert [f.name for f in result.factors] == [FACTOR_NAMES[k] for k in FACTOR_KEYS]
    assert sum(f.contribution for f in result.factors) == pytest.approx(0.985)


def test_factors_with_zero_value_are_still_reported() -> None:
    result = score_lead({}, WEIGHTS, datetime(2026, 1, 1, tzinfo=UTC))
    assert len(result.factors) == 10
    assert result.score == 1  # only "no activity" (0.2 x 0.05) counts
