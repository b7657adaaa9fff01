"""Fitting a client's value tables and weights together from outcome feedback.

Where outcomes show a factor's levels out of order (an "open" lead converting
better than a "qualified" one) or a factor lowering conversion, no non-negative
weighted sum of the seed values can follow; a learned table per factor can
(`app.scoring.value_tables`).

Model: logistic regression with an intercept on a "hat" basis. For factor k and
knot j the column is the linear-interpolation weight of the seed value x_k at
knot j, so sum_j beta_kj * hat_kj(x_k) is the piecewise-linear function through
(knot_j, beta_kj): the table on the logit scale. The hat columns of one factor sum
to 1, so the intercept alone is not identified; the penalty pins it: each beta_kj
is pulled (precision `l2`) toward c * prior_k * knot_j, the seed's values under
the prior's weights at the prior's scale c on this data (`prior_scale`), and the
intercept barely at all. With no data or a huge penalty the fit is the prior:
seed values, prior weights.

Map back to scoring: with lo_k, hi_k the factor's first and last knots and m_k,
M_k the smallest and largest beta_kj, T_kj = lo_k + (hi_k - lo_k)(beta_kj - m_k) /
(M_k - m_k) and w_k proportional to (M_k - m_k) / (hi_k - lo_k). Then
sum_k w_k T_k(x_k) is an increasing affine function of the fitted logit: the
served score ranks leads exactly as the fit does (up to the weight floor). A
factor with M_k == m_k says nothing: it keeps the seed's values and the floor.
"""

from collections.abc import Sequence

import numpy as np

from app.personalization.coefficients import prior_scale, to_weights
from app.personalization.design import GroupedDesign
from app.personalization.numerics import newton
from app.personalization.priors import Weights
from app.scoring import FACTOR_KEYS, IDENTITY, KNOTS, ValueTables

_KNOTS = tuple(np.array(KNOTS[key], dtype=float) for key in FACTOR_KEYS)
# First hat column of each factor in the basis, and one past the last.
_STARTS = np.cumsum([0] + [len(knots) for knots in _KNOTS])
N_COLUMNS = int(_STARTS[-1])
"""Width of the hat basis: one column per knot of every factor."""

INTERCEPT_PENALTY = 1e-4  # as the weight fits: the base rate is the data's
FLAT = 1e-9  # a factor whose coefficients spread less (relative to the widest) is flat
SEED_MATCH = 1e-9  # a table this close to its knots is the seed's: not stored
# Factors whose knots cut a continuous value into bins (the others' knots are the
# levels the factor takes), and the precision of a bend at an inner knot of one.
BINNED = frozenset({"days_since_created", "engagement_score", "profile_completeness"})
BEND_L2 = 10.0


def hat_basis(x: np.ndarray) -> np.ndarray:
    """n x N_COLUMNS: for each factor and knot, the interpolation weight of the
    factor's seed value at that knot (outside the knots: all on the nearest end)."""
    x = np.asarray(x, dtype=float).reshape(-1, len(FACTOR_KEYS))
    rows = np.arange(len(x))
    basis = np.zeros((len(x), N_COLUMNS))
    for k, knots in enumerate(_KNOTS):
        values = x[:, k]
        left = np.clip(
            np.searchsorted(knots, values, side="right") - 1, 0, len(knots) - 2
        )
        share = (values - knots[left]) / (knots[left + 1] - knots[left])
        share = np.clip(share, 0.0, 1.0)
        basis[rows, _STARTS[k] + left] += 1.0 - share
        basis[rows, _STARTS[k] + left + 1] += share
    return basis


def _line_and_bends() -> np.ndarray:
    """N_COLUMNS x N_COLUMNS: knot values from the fitted parameters.

    A level factor's parameters are its values at its knots. A binned factor's
    (`BINNED`) are its values at the first and last knot (the straight line
    between them) and how far each inner knot bends away from that line: the
    seed's table is that straight line (its values are its knots), so a bend
    has to be earned by evidence (`BEND_L2`). Free bins spent the few hundred
    outcomes a client has on noise: in the learning benchmark they cost 0.006
    AUC at 300 outcomes against a straight line.
    """
    matrix = np.eye(N_COLUMNS)
    for k, (key, knots) in enumerate(zip(FACTOR_KEYS, _KNOTS, strict=True)):
        if key not in BINNED:
            continue
        start, end = _STARTS[k], _STARTS[k + 1]
        share = (knots - knots[0]) / (knots[-1] - knots[0])
        matrix[start:end, start:end] = 0.0
        matrix[start:end, start] = 1.0 - share
        matrix[start:end, start + 1] = share
        for j in range(1, len(knots) - 1):
            matrix[start + j, start + 1 + j] = 1.0
    return matrix


_TO_KNOTS = _line_and_bends()
_BENDS = np.zeros(N_COLUMNS, dtype=bool)  # the parameters that bend a binned factor
for _k, _key in enumerate(FACTOR_KEYS):
    if _key in BINNED:
        _BENDS[_STARTS[_k] + 2 : _STARTS[_k + 1]] = True


def table_basis(x: np.ndarray) -> np.ndarray:
    """The fit's design rows for seed values x: the hat basis in the line-and-bends
    parameters (`_line_and_bends`)."""
    return hat_basis(x) @ _TO_KNOTS


def fit_coefficients(
    x: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    prior: Weights,
    l2: float,
    *,
    prior_tables: ValueTables | None = None,
    group: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    scale: float | None = None,
) -> np.ndarray:
    """Intercept then the N_COLUMNS table coefficients (values at the knots, on
    the logit scale) of the penalised fit.

    Each value at a knot is pulled (precision `l2`) toward c * prior_k * T_kj,
    T_kj the prior's value at the knot (its `prior_tables`, else the seed's: the
    knot itself) and c how steeply the prior's score separates these outcomes; a
    binned factor is fitted as a line and bends (`_line_and_bends`), the line
    pulled the same way and the bends toward the prior's with precision
    max(`l2`, `BEND_L2`). With `group` (similar clients pooled) each group has
    its own intercept, and the first value returned is their mean. `basis` is
    `table_basis(x)` and `scale` c when the caller has them (it fits many
    subsets of the same outcomes).
    """
    x = np.asarray(x, dtype=float)
    tables = prior_tables if prior_tables is not None else IDENTITY
    if scale is None:
        scale = prior_scale(table_values(x, tables), y, s, prior)
    prior_line = np.concatenate(
        [
            scale * weight * np.asarray(tables.tables.get(key, knots))
            for weight, key, knots in zip(prior, FACTOR_KEYS, _KNOTS, strict=True)
        ]
    )
    # _TO_KNOTS is invertible: the prior's values at the knots have exactly one
    # line-and-bends form (for the seed's values, a line with no bends).
    group = np.zeros(len(x), dtype=int) if group is None else np.asarray(group)
    rows = table_basis(x) if basis is None else basis
    design = GroupedDesign(rows, group)
    k = design.groups
    centre = np.r_[np.zeros(k), np.linalg.solve(_TO_KNOTS, prior_line)]
    # A bend needs at least the evidence a level's own value does.
    bend_l2 = max(float(l2), BEND_L2)
    penalty = np.r_[np.full(k, INTERCEPT_PENALTY), np.where(_BENDS, bend_l2, float(l2))]
    theta = newton(
        design, np.asarray(y, dtype=float), np.asarray(s, float), centre, penalty
    )
    return np.r_[theta[:k].mean(), _TO_KNOTS @ theta[k:]]


def tables_from_coefficients(
    beta: Sequence[float] | np.ndarray, floor: float
) -> tuple[Weights, ValueTables] | None:
    """Weights and tables whose weighted sum ranks leads as `beta` does.

    `beta` holds the N_COLUMNS table coefficients (no intercept). None when every
    factor is flat: nothing to rank by.
    """
    beta = np.asarray(beta, dtype=float)
    spans = np.array(
        [np.ptp(beta[_STARTS[k] : _STARTS[k + 1]]) for k in range(len(_KNOTS))]
    )
    widest = float(spans.max()) if len(spans) else 0.0
    if not widest > 0 or not np.isfinite(widest):
        return None
    strength = np.zeros(len(_KNOTS))
    tables: dict[str, tuple[float, ...]] = {}
    for k, (key, knots) in enumerate(zip(FACTOR_KEYS, _KNOTS, strict=True)):
        if spans[k] <= FLAT * widest:
            continue  # flat: seed values, the floor weight (strength 0)
        lo, hi = knots[0], knots[-1]
        coefficients = beta[_STARTS[k] : _STARTS[k + 1]]
        table = lo + (hi - lo) * (coefficients - coefficients.min()) / spans[k]
        table = np.clip(table, lo, hi)
        strength[k] = spans[k] / (hi - lo)
        if np.abs(table - knots).max() > SEED_MATCH:
            tables[key] = tuple(float(v) for v in table)
    weights = to_weights(strength, floor)
    if weights is None:
        return None
    return weights, ValueTables(tables)


def fit_tables(
    x: np.ndarray,
    y: np.ndarray,
    s: np.ndarray,
    prior: Weights,
    l2: float,
    floor: float,
    *,
    prior_tables: ValueTables | None = None,
    group: np.ndarray | None = None,
    basis: np.ndarray | None = None,
    scale: float | None = None,
) -> tuple[Weights, ValueTables] | None:
    """Weights and value tables from outcomes, shrunk toward the prior (`prior`
    weights on the seed's values, or on `prior_tables` when it has tables).

    x: seed factor values (n x 10), y: outcomes, s: sample weights, `group`: one
    intercept per value (pooled clients); `basis` and `scale` as in
    `fit_coefficients`. None when the fit ranks nothing (every factor flat).
    """
    theta = fit_coefficients(
        x,
        y,
        s,
        prior,
        l2,
        prior_tables=prior_tables,
        group=group,
        basis=basis,
        scale=scale,
    )
    return tables_from_coefficients(theta[1:], floor)


def table_values(x: np.ndarray, tables: ValueTables) -> np.ndarray:
    """Every row of seed values through the tables, vectorised (as `tables.apply`)."""
    values = np.array(x, dtype=float).reshape(-1, len(FACTOR_KEYS))
    for k, key in enumerate(FACTOR_KEYS):
        if tables.learned(key):
            values[:, k] = np.interp(values[:, k], KNOTS[key], tables.tables[key])
    return values


def table_values_changed(a: ValueTables, b: ValueTables) -> float:
    """The largest difference between two versions' values at any knot (a factor
    without a table counts as its seed values)."""
    change = 0.0
    for key in FACTOR_KEYS:
        old = np.asarray(a.tables.get(key, KNOTS[key]))
        new = np.asarray(b.tables.get(key, KNOTS[key]))
        change = max(change, float(np.abs(new - old).max()))
    return change
