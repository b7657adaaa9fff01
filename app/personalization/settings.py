"""The knobs of a refit (own outcomes and similar clients' pooled ones); the
defaults are the product's."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class FitSettings:
    """Knobs of a refit; the defaults are the product's."""

    # Penalty toward the prior, in logistic-coefficient units, by the prior's method:
    # 1/tau^2, where tau^2 is how far clients' coefficients stray from that prior.
    # A prior pooled from similar clients deserves more trust than a documented
    # industry table, which deserves more than the generic defaults. 16 (tau 0.25,
    # about a fifth of a typical coefficient) because that prior is now one fit on
    # all similar clients' outcomes (pooling.py): at 4.0, 300 own outcomes pulled
    # the served weights below that prior in the learning benchmark.
    l2: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType(
            {"similar_clients": 16.0, "industry_prior": 1.0, "default": 0.5}
        )
    )
    floor: float = 0.01  # every factor keeps at least this weight (stays visible)
    max_change: float | None = 0.05  # per factor and refit; None disables the cap
    min_outcomes: int = 30
    min_each_class: int = 5
    # Value tables are a candidate from this many outcomes of each class: a table
    # has up to six values per factor, each needing a few dozen outcomes behind it.
    min_table_class: int = 30
    # Tables must beat weights alone by this many standard errors: under no
    # signal, one would be chosen by chance one refit in six, two in forty.
    table_margin: float = 2.0
    # Penalty of table coefficients toward the prior's values (logit units: the
    # seed's values, or similar clients' tables), the same for every prior
    # method: a prior's weights say nothing about how its values may be off.
    table_l2: float = 1.0
    folds: int = 5  # cross-validation folds of the held-out check
    noise_margin: float = 1.0  # in standard errors of the fold-wise AUC difference
    tolerance: float = 0.0  # extra absolute AUC drop allowed (0: none)
    # Below this many outcomes a candidate must beat the baseline by more than
    # the noise, not merely not lose by more than it (gate.py: why). At 100 one
    # standard error is down to about 0.026 AUC (0.06 at 30).
    early_outcomes: int = 100


DEFAULT_SETTINGS = FitSettings()
