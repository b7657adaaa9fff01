"""The learning benchmark's own correctness on a small run (2 seeds x 2 worlds).

Not the product's acceptance (that is the benchmark's full run): these check that
the worlds are what they claim — a misspecified world that a flexible model
learns and our model family cannot, and a world where our family is right — and
that the checks can fail.
"""

import copy
import importlib.util
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "learning_quality.py"
DEV_SEEDS = (1, 2)  # never the acceptance seeds
SIZES = (0, 300)


@pytest.fixture(scope="module")
def benchmark():
    spec = importlib.util.spec_from_file_location("learning_quality", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def report(benchmark):
    return {
        "seeds": list(DEV_SEEDS),
        "scenarios": {
            name: benchmark.run_scenario(name, DEV_SEEDS, SIZES)
            for name in ("non_monotone", "our_model")
        },
    }


def test_value_tables_learn_what_no_weighted_sum_can(report):
    row = report["scenarios"]["non_monotone"]["by_own_outcomes"][300]
    # The world is not our model: no non-negative weighted sum of the fixed
    # values comes near the anchor...
    assert row["anchor"]["mean"] > row["best_sum"]["mean"] + 0.05
    # ...and the served value tables do.
    assert row["served"]["mean"] > row["best_sum"]["mean"] + 0.05
    assert row["served"]["mean"] > row["anchor"]["mean"] - 0.02


def test_served_weights_reach_the_best_weighted_sum_in_our_model(report):
    row = report["scenarios"]["our_model"]["by_own_outcomes"][300]
    assert row["served"]["mean"] >= row["best_sum"]["mean"] - 0.02
    assert row["best_sum"]["mean"] > row["default"]["mean"]
    assert row["anchor"]["mean"] <= row["best_sum"]["mean"] + 0.01


def test_newcomers_get_the_product_prior_and_bands_cover_every_lead(report):
    for scenario in report["scenarios"].values():
        methods = set(scenario["newcomer"]["methods"])
        assert "similar_clients" in methods
        assert methods <= {"similar_clients", "industry_prior"}
        shares = [band["share"] for band in scenario["bands"].values()]
        assert sum(shares) == pytest.approx(1.0)
        assert 0.1 < scenario["base_rate"] < 0.3


def test_the_benchmark_fails_when_served_weights_trail_the_anchor(benchmark, report):
    trailing = copy.deepcopy(report)
    row = trailing["scenarios"]["non_monotone"]["by_own_outcomes"][300]
    anchor = row["anchor"]["mean"]
    row["served_minus_anchor"] = {"mean": -0.05, "se": 0.01, "n": 2}
    row["served"]["mean"] = anchor - 0.05
    results = {name: ok for name, ok, _ in benchmark.checks(trailing)}
    assert results["non_monotone: served at 300 >= anchor - 1 SE"] is False
    assert "our_model: served at 300 >= anchor - 1 SE" not in results


def test_band_rules_are_checked_only_where_bands_were_learned(benchmark, report):
    names = [name for name, _, _ in benchmark.checks(report)]
    assert "our_model: conversion falls Hot > Warm > Cool > Cold" in names
    newcomers_only = copy.deepcopy(report)
    for scenario in newcomers_only["scenarios"].values():
        scenario["by_own_outcomes"] = {0: scenario["by_own_outcomes"][0]}
    names = [name for name, _, _ in benchmark.checks(newcomers_only)]
    assert not [name for name in names if "Hot" in name]


def test_acceptance_seeds_are_fixed(benchmark):
    assert benchmark.ACCEPTANCE_SEEDS == tuple(range(1001, 1021))
    assert not set(DEV_SEEDS) & set(benchmark.ACCEPTANCE_SEEDS)
    assert benchmark.parse_list("1-3,7") == [1, 2, 3, 7]


def test_learning_goes_through_the_product_refit_only(benchmark):
    assert not hasattr(benchmark, "refit") and not hasattr(benchmark, "fit_weights")
    source = (
        BENCHMARK.read_text() + (BENCHMARK.parent / "learning_worlds.py").read_text()
    )
    assert "fit_weights" not in source and "choose_weights" not in source
