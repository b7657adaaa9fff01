"""What a refit compares: a model (weights, and value tables when learned) and
each outcome scored by a model that was not fitted on it (cross-fitting)."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from app.personalization.priors import Weights
from app.personalization.value_tables import table_values
from app.scoring import ValueTables


@dataclass(frozen=True, slots=True)
class Model:
    """Weights, and value tables when learned (None: the seed's values)."""

    weights: Weights
    tables: ValueTables | None = None

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Σ weight × value of each row of seed values (x 100 is the score)."""
        values = x if self.tables is None else table_values(x, self.tables)
        return values @ np.asarray(self.weights)


def cross_fit(
    fit: Callable[[np.ndarray], "Model | None"],
    x: np.ndarray,
    fold: np.ndarray,
    folds: int,
) -> np.ndarray | None:
    """Every row scored by `fit(train_mask)` made without its fold; None if a fit
    finds nothing to rank by."""
    scores = np.empty(len(x))
    for k in range(folds):
        test = fold == k
        model = fit(~test)
        if model is None:
            return None
        scores[test] = model.scores(x[test])
    return scores
