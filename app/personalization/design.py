"""The design matrix of a logistic fit: one intercept per group, then features.

Similar clients' outcomes are fitted together with one intercept per client
(base rates differ), so up to twenty of a pooled fit's thirty columns are
one-hot intercepts. Stored densely they made two thirds of every Hessian and
matrix product, and Hessians were the largest single cost of refitting every
client. Here the intercepts stay implicit: their products are sums per group,
and only the features are multiplied as matrices. The results are those of the
dense matrix [one-hot(group) | features] up to rounding.
"""

import copy

import numpy as np


class GroupedDesign:
    """[one-hot(group) | features] without the one-hot columns.

    `group` holds each row's group (any labels; None: no intercept columns at
    all, the features are the whole design). Columns are the groups in sorted
    label order, then the features.
    """

    def __init__(self, features: np.ndarray, group: np.ndarray | None = None) -> None:
        self.features = np.asarray(features, dtype=float)
        rows = len(self.features)
        if group is None:
            self.groups = 0
            self._codes = np.zeros(rows, dtype=np.intp)
        else:
            labels, codes = np.unique(np.asarray(group), return_inverse=True)
            # Given groups mean at least one intercept, rows or not.
            self.groups, self._codes = max(len(labels), 1), codes.reshape(-1)
        # Rows ordered by group (None: they already are, as pooled outcomes
        # come), and where each group starts in that order.
        in_order = bool((np.diff(self._codes) >= 0).all())
        self._order = None if in_order else np.argsort(self._codes, kind="stable")
        counts = np.bincount(self._codes, minlength=self.groups)[: self.groups]
        self._starts = np.r_[0, np.cumsum(counts)[:-1]].astype(np.intp)

    @property
    def codes(self) -> np.ndarray:
        """Each row's group as 0..groups-1 (the intercept column it uses)."""
        return self._codes

    @property
    def width(self) -> int:
        """Number of columns: intercepts, then features."""
        return self.groups + self.features.shape[1]

    def __len__(self) -> int:
        return len(self.features)

    def __matmul__(self, theta: np.ndarray) -> np.ndarray:
        """The linear predictor of every row."""
        z = self.features @ theta[self.groups :]
        if self.groups:
            z = z + theta[: self.groups][self._codes]
        return z

    def transpose_dot(self, r: np.ndarray) -> np.ndarray:
        """design.T @ r."""
        head = np.bincount(self._codes, weights=r, minlength=self.groups)
        return np.r_[head[: self.groups], self.features.T @ r]

    def weighted_gram(self, w: np.ndarray) -> np.ndarray:
        """design.T @ diag(w) @ design (the Hessian's data part)."""
        k = self.groups
        weighted = self.features * w[:, None]
        gram = np.empty((self.width, self.width))
        gram[k:, k:] = self.features.T @ weighted
        if k:
            rows = weighted if self._order is None else weighted[self._order]
            cross = (
                np.add.reduceat(rows, self._starts, axis=0)
                if len(rows)
                else np.zeros((k, self.features.shape[1]))
            )
            gram[:k, :k] = np.diag(np.bincount(self._codes, weights=w, minlength=k))
            gram[:k, k:] = cross
            gram[k:, :k] = cross.T
        return gram

    def keep(self, columns: np.ndarray) -> "GroupedDesign":
        """The design with only `columns` (a mask over all columns) kept; every
        intercept column must be kept."""
        if not columns[: self.groups].all():
            raise ValueError("intercept columns cannot be dropped")
        kept = copy.copy(self)  # the groups are the same
        kept.features = self.features[:, columns[self.groups :]]
        return kept


def as_design(x: "np.ndarray | GroupedDesign") -> GroupedDesign:
    """`x` itself when a GroupedDesign, else a plain matrix as one (no groups)."""
    return x if isinstance(x, GroupedDesign) else GroupedDesign(x)
