"""Similar clients, combining their weights, and the choice of method."""

import numpy as np
import pytest

from app.personalization.learning import FitResult
from app.personalization.priors import DEFAULT, PRIORS
from app.personalization.profile import ClientProfile
from app.personalization.selection import (
    CUSTOM,
    METHODS,
    choose_weights,
    prior_choice,
)
from app.personalization.similarity import (
    Neighbour,
    Peer,
    combine,
    nearest,
    similarity,
)

SAAS = ClientProfile(vertical="software_saas", company_size=(50, 200), country="DE")
PINNED = (0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.7, 0.0, 0.0, 0.0)


def one_hot(i: int) -> tuple[float, ...]:
    return tuple(1.0 if j == i else 0.0 for j in range(10))


def neighbours(count: int) -> list[Neighbour]:
    return [Neighbour(f"c{i}", 0.8, PRIORS["legal"], 200) for i in range(count)]


def accepted_fit(weights: tuple[float, ...] = PINNED) -> FitResult:
    return FitResult(weights, "similar_clients", 120, 30, 90, 0.8, 0.75, True, "ok")


@pytest.mark.parametrize(
    ("other", "low", "high"),
    [
        (SAAS, 0.85, 1.0),
        (ClientProfile(vertical="software_saas"), 0.6, 0.6),
        (
            ClientProfile(vertical="legal", company_size=(50, 200), country="DE"),
            0.2,
            0.25,
        ),
        (ClientProfile(), 0.0, 0.0),
    ],
)
def test_similarity_is_dominated_by_the_vertical(other, low, high):
    assert low <= similarity(SAAS, other) <= high
    assert similarity(SAAS, other) == similarity(other, SAAS)


def test_unknown_verticals_are_not_similar_to_each_other():
    assert similarity(ClientProfile(), ClientProfile()) == 0.0


def test_nearest_keeps_same_vertical_peers_with_enough_feedback_best_first():
    peers = [
        Peer("far", ClientProfile(vertical="software_saas"), DEFAULT, 100),
        Peer("close", SAAS, DEFAULT, 100),
        Peer("little-data", SAAS, DEFAULT, 29),
        Peer("other-vertical", ClientProfile(vertical="legal"), DEFAULT, 500),
        Peer("self", SAAS, DEFAULT, 500),
    ]
    found = nearest(SAAS, peers, k=5, exclude="self")
    assert [n.client_id for n in found] == ["close", "far"]
    assert nearest(SAAS, peers, k=1, exclude="self")[0].client_id == "close"


def test_combine_weights_by_similarity_and_data():
    a = Neighbour("a", 1.0, one_hot(0), 100)
    b = Neighbour("b", 1.0, one_hot(1), 100)
    assert combine([a, b])[:2] == pytest.approx((0.5, 0.5))
    less_similar = Neighbour("b", 0.5, one_hot(1), 100)
    assert combine([a, less_similar])[:2] == pytest.approx((2 / 3, 1 / 3))
    more_data = Neighbour("b", 1.0, one_hot(1), 300)  # 300/400 vs 100/200
    assert combine([a, more_data])[:2] == pytest.approx((0.4, 0.6))
    assert sum(combine([a, more_data])) == pytest.approx(1.0)


def test_one_clients_feedback_changes_its_similar_clients_weights():
    before = [Neighbour(f"c{i}", 0.8, PRIORS["software_saas"], 200) for i in range(5)]
    after = [Neighbour("c0", 0.8, one_hot(6), 260), *before[1:]]
    served_before = prior_choice(before, "software_saas").weights
    served_after = prior_choice(after, "software_saas").weights
    assert served_after[6] > served_before[6]


@pytest.mark.parametrize(
    ("count", "vertical", "method"),
    [
        (5, "software_saas", "similar_clients"),
        (4, "software_saas", "industry_prior"),
        (5, None, "similar_clients"),
        (4, None, "default"),
        (0, "legal", "industry_prior"),
        (0, None, "default"),
        (20, "legal", "similar_clients"),
    ],
)
def test_method_boundaries(count, vertical, method):
    choice = choose_weights(
        pinned=None, own_fit=None, neighbours=neighbours(count), vertical=vertical
    )
    assert choice.method == method
    assert choice.details["personalised"] is False
    expected = {
        "similar_clients": PRIORS["legal"],
        "industry_prior": PRIORS.get(vertical or "", DEFAULT),
        "default": DEFAULT,
    }[method]
    assert choice.weights == pytest.approx(expected)


@pytest.mark.parametrize("count", [0, 4, 5])
@pytest.mark.parametrize("own", [None, "accepted"])
def test_pinned_weights_are_never_overridden(count, own):
    choice = choose_weights(
        pinned=PINNED,
        own_fit=accepted_fit() if own else None,
        neighbours=neighbours(count),
        vertical="software_saas",
    )
    assert (choice.method, choice.weights) == (CUSTOM, PINNED)


@pytest.mark.parametrize(
    ("count", "vertical", "method"),
    [
        (5, "legal", "similar_clients"),
        (4, "legal", "industry_prior"),
        (0, None, "default"),
    ],
)
def test_own_learned_weights_are_served_under_their_priors_method(
    count, vertical, method
):
    fit = accepted_fit()
    choice = choose_weights(
        pinned=None, own_fit=fit, neighbours=neighbours(count), vertical=vertical
    )
    assert choice.method == method
    assert choice.weights == fit.weights
    assert choice.details["personalised"] is True
    assert choice.details["own_outcomes"] == 120


def test_a_rejected_fit_changes_nothing():
    rejected = FitResult(one_hot(6), "default", 40, 5, 35, 0.6, 0.7, False, "worse")
    choice = choose_weights(
        pinned=None, own_fit=rejected, neighbours=[], vertical="legal"
    )
    assert (choice.method, choice.weights) == ("industry_prior", PRIORS["legal"])


def test_methods_are_the_seeds_plus_custom():
    assert set(METHODS) == {"custom", "similar_clients", "industry_prior", "default"}


def test_served_weights_are_finite_non_negative_and_sum_to_1():
    rng = np.random.default_rng(0)
    for count in range(8):
        group = [
            Neighbour(
                f"c{i}",
                float(rng.uniform(0.5, 1)),
                tuple(rng.dirichlet(np.ones(10))),
                int(rng.integers(30, 1000)),
            )
            for i in range(count)
        ]
        weights = np.array(prior_choice(group, "legal").weights)
        assert np.isfinite(weights).all() and (weights >= 0).all()
        assert weights.sum() == pytest.approx(1.0)
