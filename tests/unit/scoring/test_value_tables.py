"""Learned value tables on the scoring side: knots, interpolation, strict reading, and
the engine scoring with them (and exactly as before without them)."""

import json
import math
import random
import time
from dataclasses import FrozenInstanceError
from datetime import UTC, datetime

import pytest

from app.scoring import (
    DEFAULT_WEIGHTS,
    FACTOR_KEYS,
    IDENTITY,
    KNOTS,
    ValueTables,
    compute_score,
    factor_values,
    score_lead,
)
from app.scoring import factors as f
from tests.examples import EXAMPLE_LEADS, JANE, JOHN
from tests.unit.scoring.test_parity import random_lead

WEIGHTS = tuple(DEFAULT_WEIGHTS.values())
NOW = datetime(2025, 1, 20, 12, tzinfo=UTC)
STATUS_TABLE = (0.0, 0.2, 0.4, 1.0, 0.6, 0.3)  # "open" (0.5) best


def test_knots_cover_every_factor_in_order_and_every_level_it_takes() -> None:
    assert tuple(KNOTS) == FACTOR_KEYS
    for key, knots in KNOTS.items():
        assert len(knots) >= 2, key
        assert list(knots) == sorted(set(knots)), key
        assert 0.0 <= knots[0] and knots[-1] <= 1.0, key
    levels = {
        "lead_status": {0.0, f.UNKNOWN_STATUS_VALUE, *f.STATUS_VALUES.values()},
        "company_size_bucket": {0.0, f.OTHER_TITLE_VALUE}
        | {value for _, value in f.SENIORITY_LEVELS},
        "recency_score": {f.INACTIVE_VALUE, f.RECENT_NOTES_VALUE, f.HAS_DEALS_VALUE},
    }
    for key, values in levels.items():
        assert values == set(KNOTS[key]), key


@pytest.mark.parametrize("tables", [None, IDENTITY, ValueTables({})])
def test_without_tables_the_engine_is_exactly_as_before(tables) -> None:
    rng = random.Random(7)
    leads = [*EXAMPLE_LEADS, *(random_lead(rng, NOW) for _ in range(500))]
    for lead in leads:
        seeds = factor_values(lead, NOW.timestamp())
        result = score_lead(lead, WEIGHTS, NOW, tables=tables)
        assert result.score == compute_score(seeds, WEIGHTS)
        assert result == score_lead(lead, WEIGHTS, NOW)
        for factor, seed, weight in zip(result.factors, seeds, WEIGHTS, strict=True):
            assert factor.value == factor.seed_value == seed
            assert factor.contribution == weight * seed
            assert factor.source == "seed"


def test_tables_equal_to_their_knots_score_as_the_seed() -> None:
    identity = ValueTables({key: knots for key, knots in KNOTS.items()})
    rng = random.Random(11)
    for lead in [JOHN, JANE, *(random_lead(rng, NOW) for _ in range(300))]:
        seeds = factor_values(lead, NOW.timestamp())
        assert identity.apply(seeds) == pytest.approx(seeds, abs=1e-12)
        result = score_lead(lead, WEIGHTS, NOW, tables=identity)
        assert {factor.source for factor in result.factors} == {"table"}


def test_apply_at_knots_between_them_and_outside() -> None:
    tables = ValueTables(
        {
            "lead_status": STATUS_TABLE,
            "has_company_match": (1.0, 0.0),  # reversed: a negative effect
            "recency_score": (0.3, 0.2, 0.7),
        }
    )
    status = FACTOR_KEYS.index("lead_status")
    company = FACTOR_KEYS.index("has_company_match")
    recency = FACTOR_KEYS.index("recency_score")

    def at(position: int, seed: float) -> float:
        values = [0.5] * 10
        values[position] = seed
        return tables.apply(values)[position]

    for knot, value in zip(KNOTS["lead_status"], STATUS_TABLE, strict=True):
        assert at(status, knot) == value
    assert at(status, 0.6) == pytest.approx(0.8)  # halfway from open to in_progress
    assert at(status, 0.85) == pytest.approx(0.45)
    assert at(status, 0.05) == pytest.approx(0.1)
    assert at(company, 1.0) == 0.0 and at(company, 0.0) == 1.0
    assert at(company, 0.25) == pytest.approx(0.75)
    assert at(recency, 0.0) == 0.3  # below the first knot: the first value
    assert at(recency, 1.0) == 0.7  # above the last: the last value
    assert at(recency, 0.35) == pytest.approx(0.25)
    applied = tables.apply([0.4] * 10)
    for position, value in enumerate(applied):
        if position not in (status, company, recency):
            assert value == 0.4


def test_scoring_with_a_table_explains_seed_and_learned_value() -> None:
    tables = ValueTables({"lead_status": STATUS_TABLE})
    seeds = factor_values(JANE, NOW.timestamp())  # Jane's status is "open"
    result = score_lead(JANE, WEIGHTS, NOW, tables=tables)
    learned = list(seeds)
    learned[FACTOR_KEYS.index("lead_status")] = 1.0
    assert result.score == compute_score(learned, WEIGHTS)
    assert result.score > score_lead(JANE, WEIGHTS, NOW).score
    for factor, seed, value in zip(result.factors, seeds, learned, strict=True):
        assert factor.seed_value == seed
        assert factor.value == value
        assert factor.contribution == pytest.approx(factor.weight * value)
        assert factor.source == ("table" if factor.key == "lead_status" else "seed")
    # John is "qualified", which this client's outcomes rank below "open".
    john = score_lead(JOHN, WEIGHTS, NOW, tables=tables)
    assert john.factors[FACTOR_KEYS.index("lead_status")].value == 0.3


def test_json_round_trip_holds_learned_factors_only() -> None:
    tables = ValueTables({"recency_score": (0.2, 0.7, 0.5), "lead_source": [0, 1]})
    stored = tables.to_json()
    assert stored == {"lead_source": [0.0, 1.0], "recency_score": [0.2, 0.7, 0.5]}
    again = ValueTables.from_json(json.loads(json.dumps(stored)))
    assert again == tables and hash(again) == hash(tables)
    assert again.learned("recency_score") and not again.learned("lead_status")
    assert IDENTITY.to_json() == {} and ValueTables.from_json({}) == IDENTITY
    with pytest.raises(KeyError):
        IDENTITY.learned("colour")


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ([0.0, 1.0], "object"),
        ("lead_status", "object"),
        ({"colour": [0.0, 1.0]}, "unknown factor 'colour'"),
        ({1: [0.0, 1.0]}, "factor keys"),
        ({"lead_source": [0.0, 0.5, 1.0]}, "'lead_source' must hold 2 values"),
        ({"lead_status": [0.5]}, "must hold 6 values"),
        ({"lead_source": "01"}, "list of numbers"),
        ({"lead_source": 1.0}, "list of numbers"),
        ({"lead_source": {"0": 0, "1": 1}}, "list of numbers"),
        ({"lead_source": [0.0, "1"]}, "numbers only"),
        ({"lead_source": [0.0, True]}, "numbers only"),
        ({"lead_source": [0.0, None]}, "numbers only"),
        ({"lead_source": [0.0, math.nan]}, "between 0 and 1"),
        ({"lead_source": [0.0, math.inf]}, "between 0 and 1"),
        ({"lead_source": [-0.01, 1.0]}, "between 0 and 1"),
        ({"lead_source": [0.0, 1.5]}, "between 0 and 1"),
    ],
)
def test_from_json_refuses_what_is_not_a_table(obj, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ValueTables.from_json(obj)


def test_tables_are_immutable() -> None:
    tables = ValueTables({"lead_status": STATUS_TABLE})
    with pytest.raises(FrozenInstanceError):
        tables.tables = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        tables.tables["lead_status"] = KNOTS["lead_status"]  # type: ignore[index]


def test_apply_is_cheap_enough_for_the_hot_path() -> None:
    tables = ValueTables({key: knots[::-1] for key, knots in KNOTS.items()})
    rows = [factor_values(random_lead(random.Random(i), NOW), 0.0) for i in range(200)]
    start = time.perf_counter()
    for _ in range(100):
        for row in rows:
            tables.apply(row)
    per_lead = (time.perf_counter() - start) / 20_000
    assert per_lead < 50e-6  # the whole engine takes ~10-20 µs per lead
