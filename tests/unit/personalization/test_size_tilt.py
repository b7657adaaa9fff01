"""Pooled weights tilted toward a client's company size, only when that helps
on neighbours the tilt was not fitted on."""

import numpy as np
import pytest

from app.personalization.candidates import Model
from app.personalization.outcomes import REWARDS, Sample
from app.personalization.pooling import pooled_fit
from app.personalization.priors import DEFAULT, PRIORS
from app.personalization.selection import prior_choice
from app.personalization.similarity import Neighbour, size_decades
from app.personalization.size_tilt import SizeTilt, fit_tilt

# Factor 4 converts in small firms, factor 6 in large ones; the rest is shared.
SHARED = np.array([0.02, 0.02, 0.05, 0.05, 0.0, 0.05, 0.0, 0.05, 0.10, 0.06])
SIZES = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000))


def truth_at(size: tuple[int, int]) -> np.ndarray:
    """Small firms: factor 4 weighs 0.5, factor 6 none; 5,000 employees: reversed."""
    share = (size_decades(size) - size_decades(SIZES[0])) / (
        size_decades(SIZES[-1]) - size_decades(SIZES[0])
    )
    truth = SHARED.copy()
    truth[4], truth[6] = 0.5 * (1 - share), 0.5 * share
    return truth


def outcomes(n: int, seed: int, truth: np.ndarray) -> list[Sample]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 10))
    z = x @ truth
    won = rng.random(n) < 1 / (1 + np.exp(-(12 * (z - z.mean()) - 1.2)))
    return [
        Sample(tuple(x[i]), REWARDS["converted" if won[i] else "ignored"])
        for i in range(n)
    ]


def world(sized: bool = True, drift: bool = True, per_size: int = 3, n: int = 300):
    """Neighbours of every size (or of unknown size), drawn from their size's truth
    (or all from one truth when not `drift`)."""
    found, samples = [], {}
    for i in range(per_size * len(SIZES)):
        size = SIZES[i % len(SIZES)]
        cid = f"c{i}"
        found.append(Neighbour(cid, 0.8, DEFAULT, n, size if sized else None))
        truth = truth_at(size) if drift else truth_at(SIZES[2])
        samples[cid] = outcomes(n, seed=i, truth=truth)
    return found, samples


def test_size_decades_is_log10_of_the_ranges_middle():
    assert size_decades((51, 200)) == pytest.approx(np.log10(125.5))
    assert size_decades((5000, None)) == pytest.approx(np.log10(5000))
    assert size_decades((0, 0)) == 0.0  # an empty range counts as one employee
    assert size_decades(None) is None


def test_a_tilt_moves_weights_along_size_and_keeps_them_publishable():
    tilt = SizeTilt(
        centre=2.0, slopes=(0.0,) * 4 + (-0.1,) + (0.0,) + (0.1,) + (0.0,) * 3
    )
    flat = Model(tuple(np.full(10, 0.1)))
    small, large = tilt.at(flat, 1.0, 0.01), tilt.at(flat, 3.5, 0.01)
    assert small.weights[4] > 0.1 > small.weights[6]
    assert large.weights[6] > 0.1 and large.weights[4] == pytest.approx(0.01)
    for moved in (small, large):
        assert sum(moved.weights) == pytest.approx(1.0)
        assert min(moved.weights) >= 0.01 - 1e-12
    assert tilt.at(flat, None, 0.01) is flat  # unknown size: unchanged
    assert tilt.at(flat, 2.0, 0.01).weights == pytest.approx(flat.weights)


def test_fit_tilt_finds_which_factors_grow_with_size():
    found, samples = world()
    x = np.vstack([[s.values for s in samples[n.client_id]] for n in found])
    y = np.concatenate([[s.reward > 0 for s in samples[n.client_id]] for n in found])
    group = np.repeat(np.arange(len(found)), 300)
    decades = np.repeat([size_decades(n.company_size) for n in found], 300)
    tilt = fit_tilt(x, y.astype(float), np.ones(len(y)), group, decades, SHARED + 0.05)
    assert tilt is not None
    assert tilt.slopes[6] > 0.02 and tilt.slopes[4] < -0.02
    assert max(abs(v) for i, v in enumerate(tilt.slopes) if i not in (4, 6)) < 0.02
    same_size = np.full(len(y), 2.0)
    assert fit_tilt(x, y, np.ones(len(y)), group, same_size, SHARED) is None


def test_pooled_weights_follow_the_clients_size_when_the_check_holds():
    found, samples = world()
    pooled = pooled_fit(found, samples, PRIORS["legal"])
    assert pooled.accepted and pooled.size_tilt is not None

    def served(size):
        choice = prior_choice(
            found, "legal", neighbour_samples=samples, company_size=size
        )
        assert choice.method == "similar_clients"
        return choice

    small, large, unknown = served((1, 10)), served((1001, 5000)), served(None)
    assert small.weights[4] > unknown.weights[4] > large.weights[4]
    assert small.weights[6] < unknown.weights[6] < large.weights[6]
    assert unknown.weights == pooled.weights
    assert "size_tilt" in small.details and "size_tilt" not in unknown.details
    recorded = small.details["size_tilt"]
    assert recorded == pooled.size_tilt.to_json(size_decades((1, 10)))
    assert recorded["client_employees"] == 6  # the middle of 1-10, rounded
    assert len(recorded["slopes_per_decade"]) == 10


@pytest.mark.parametrize("sized, drift", [(False, True), (True, False)])
def test_no_tilt_without_sizes_or_without_a_size_effect(sized, drift):
    found, samples = world(sized=sized, drift=drift)
    pooled = pooled_fit(found, samples, DEFAULT)
    assert pooled.accepted
    assert pooled.size_tilt is None
