"""A newcomer's similar_clients prior against the gap it should close.

The gap is default -> best weighted sum of the newcomer's own truth; the share a
prior closes is a ratio of sums over newcomers, and a single newcomer's share is
very noisy (from -45 % to 93 % on development seeds), so the benchmark measures
more newcomers than it has targets (`learning_quality.NEWCOMERS`) and reports a
standard error from resampling whole worlds (the newcomers of one world share
its peers, so they are not independent).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from learning_anchor import best_weighted_sum, expected_auc
from learning_worlds import WorldClient, make_leads

from app.personalization.priors import DEFAULT
from app.personalization.value_tables import table_values

BOOTSTRAP_ROUNDS = 1000


def served_values(config, x: np.ndarray) -> np.ndarray:
    """Σ weight × value of each lead under what the client is served (its value
    tables applied to the seed values); the score is 100 times this."""
    return table_values(x, config.tables) @ np.asarray(config.weights)


@dataclass(frozen=True)
class HeldOut:
    """A client's held-out leads (seed values x, true conversion probability p)
    and the best non-negative weighted sum of its factors (fitted on other leads)."""

    x: np.ndarray
    p: np.ndarray
    best: np.ndarray

    @classmethod
    def of(cls, client: WorldClient, leads: int, ceiling_leads: int) -> "HeldOut":
        held = make_leads(client.rng, leads, f"{client.cid}-held")
        fit_leads = make_leads(client.rng, ceiling_leads, f"{client.cid}-fit")
        best = best_weighted_sum(fit_leads.values, client.probability(fit_leads))
        return cls(held.values, client.probability(held), best)

    def figures(self, served) -> dict[str, float]:
        """Expected AUC of what is `served`, of the defaults and of the best sum."""
        return {
            "served": expected_auc(served_values(served, self.x), self.p),
            "default": expected_auc(self.x @ np.asarray(DEFAULT), self.p),
            "best_sum": expected_auc(self.x @ self.best, self.p),
        }


def measure_newcomers(
    product,
    newcomers: list[WorldClient],
    record: Callable,
    held_out: int,
    ceiling_leads: int,
) -> None:
    """Register each newcomer, let the product refit it (its prior), `record`
    what it is served next to the defaults and its best weighted sum, forget it."""
    for client in newcomers:
        held = HeldOut.of(client, held_out, ceiling_leads)
        product.add_client(client.cid, client.vertical, client.size, client.country)
        product.refit(client.cid)
        served = product.served(client.cid)
        record(client, held, served.method, held.figures(served))
        product.forget(client.cid)


def gap_figures(worlds: list[dict]) -> dict:
    """Share of the gap closed by the served prior and by the two yardsticks,
    with the served share's standard error over worlds."""
    new = [w["newcomer"] for w in worlds]

    def gains(kind: str) -> np.ndarray:
        return np.array([np.sum(np.subtract(d[kind], d["default"])) for d in new])

    ceiling = gains("best_sum")

    def share(kind: str, pick=slice(None)) -> float | None:
        total = float(ceiling[pick].sum())
        return float(gains(kind)[pick].sum()) / total if total > 0 else None

    rng = np.random.default_rng(0)
    rounds = [
        share("served", rng.integers(0, len(new), len(new)))
        for _ in range(BOOTSTRAP_ROUNDS)
    ]
    usable = [r for r in rounds if r is not None]
    return {
        "newcomers": sum(len(d["served"]) for d in new),
        "methods": sorted({m for d in new for m in d["method"]}),
        "gap_closed": share("served"),
        "gap_closed_se": float(np.std(usable, ddof=1)) if len(new) > 1 else None,
        "gap_closed_pooled_lr": share("pooled_lr"),
        # what a perfect estimate of the noise-free shared truth would close
        "gap_closed_shared_truth": share("shared"),
    }
