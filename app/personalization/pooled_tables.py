"""Value tables learned from similar clients' pooled outcomes, for a newcomer.

Where similar businesses' outcomes show a factor's levels out of order (their
"open" leads converting better than "qualified" ones), a newcomer with no
outcomes of its own can start from that knowledge instead of the seed's values:
tables are shared with similar clients as weights are, and like weights they
are fitted on factor values and outcomes only (no lead PII).

The fit is the client's own table fit (`value_tables.fit_tables`) on the
screened neighbours' outcomes, each neighbour with its own intercept and the
shares the pooled weights use (so a peer's outcome count buys no more influence
here than there). It is served only when it ranks held-out neighbours'
outcomes better than what would be served without it: on the same neighbour
folds as the pooled weights' check, fit on the other folds and compare its AUC
on each held-out neighbour with the baseline's; the mean gain must exceed
`table_margin` standard errors of the gains across neighbours, as a client's
own tables must beat its weights by that many standard errors.

The baseline is the pooled weights when they passed their check against the
prior, else the prior itself (the newcomer's fallback). Why not require the
weights to pass first: where a middle level converts best, the best weighted
sum of the seed's values can rank no better than the prior (0.695 against
0.699 held out in the benchmark's `non_monotone` world) while tables rank far
better (0.84), and the newcomer's start then hung on noise in a check of
weights that would not even be served. Either way tables face the same margin
against what they would replace, and the fold fits are the same.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from app.personalization.candidates import Model
from app.personalization.numerics import roc_auc
from app.personalization.priors import Weights
from app.personalization.settings import FitSettings
from app.personalization.value_tables import fit_tables, table_basis
from app.scoring import ValueTables

NEIGHBOUR_FOLDS = 5  # neighbours held out together in the pooled checks


def neighbour_folds(neighbours: Sequence[int]) -> list[list[int]]:
    """The neighbours dealt in turn into NEIGHBOUR_FOLDS folds (fewer: one each)."""
    count = min(NEIGHBOUR_FOLDS, len(neighbours))
    return [list(neighbours[f::count]) for f in range(count)]


class NeighbourFolds:
    """The screened neighbours' pooled outcomes, one row each: seed values `x`,
    won `y`, weight `s` and the neighbour it came from (`group`); the folds the
    neighbours are dealt into for the pooled checks, and each fold's training
    rows (`trains`, then every row last)."""

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        s: np.ndarray,
        group: np.ndarray,
        neighbours: Sequence[int],
    ) -> None:
        self.x, self.y, self.s, self.group = x, y, s, group
        self.folds = neighbour_folds(neighbours)
        self.trains = [~np.isin(group, members) for members in self.folds]
        self.trains.append(np.ones(len(y), dtype=bool))
        # Each neighbour's rows, found once: every check reads them again.
        self._rows = {k: np.flatnonzero(group == k) for k in neighbours}

    def held_out(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbour k's rows: values, won and weights."""
        rows = self._rows[k]
        return self.x[rows], self.y[rows], self.s[rows]


@dataclass(frozen=True, slots=True)
class PooledTables:
    """Tables that beat their baseline: the model fitted on every neighbour, its
    mean held-out AUC, and what the check saw (each fold's model, in `folds`
    order, and each held-out neighbour's AUC under it, `aucs`)."""

    model: Model
    auc: float
    fold_models: tuple[Model, ...]
    aucs: Mapping[int, float]


def pooled_tables(
    pooled: NeighbourFolds,
    scales: Sequence[float],
    baseline_auc: Mapping[int, float],
    prior: Weights,
    settings: FitSettings,
) -> PooledTables | None:
    """Weights and value tables from the pooled outcomes (with what their check
    saw), or None when they do not beat the baseline on held-out neighbours
    beyond noise.

    `scales` holds the prior's scale (`prior_scale`) on each of `pooled.trains`;
    `baseline_auc` maps each neighbour whose outcomes hold both classes to the
    AUC on its outcomes of what would be served without tables: the pooled
    weights fitted without its fold, or the prior when those weights failed
    their check.
    """
    x, y = pooled.x, pooled.y
    n_pos = int(y.sum())
    if min(n_pos, len(y) - n_pos) < settings.min_table_class or len(baseline_auc) < 3:
        return None

    basis = table_basis(x)

    def fitted(train: np.ndarray, scale: float) -> tuple[Weights, ValueTables] | None:
        return fit_tables(
            x[train],
            y[train],
            pooled.s[train],
            prior,
            settings.table_l2,
            settings.floor,
            group=pooled.group[train],
            basis=basis[train],
            scale=scale,
        )

    aucs: dict[int, float] = {}
    models = []
    for members, train, scale in zip(pooled.folds, pooled.trains, scales, strict=False):
        fold = fitted(train, scale)
        if fold is None:
            return None
        models.append(Model(*fold))
        for k in members:
            if k in baseline_auc:
                held_x, held_y, held_s = pooled.held_out(k)
                aucs[k] = roc_auc(models[-1].scores(held_x), held_y, held_s)
    gain = np.array([aucs[k] - baseline_auc[k] for k in aucs])
    noise = float(gain.std(ddof=1)) / np.sqrt(len(gain))
    if not gain.mean() > settings.table_margin * noise:
        return None
    full = fitted(pooled.trains[-1], scales[-1])
    if full is None or not full[1].tables:
        return None
    return PooledTables(
        Model(*full), float(np.mean(list(aucs.values()))), tuple(models), aucs
    )
