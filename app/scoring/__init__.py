"""The scoring engine: ten explainable factors, weights, a 0-100 score and a label.

Standard library only and pure: every input, including the clock, is passed in.
"""

from app.scoring.engine import (
    FactorResult,
    ScoreResult,
    compute_score,
    factor_values,
    score_lead,
)
from app.scoring.factors import DEFAULT_WEIGHTS, FACTOR_KEYS, FACTOR_NAMES
from app.scoring.fields import LeadFieldError
from app.scoring.icp import IdealCustomerProfile
from app.scoring.labels import DEFAULT_BANDS, LabelBands
from app.scoring.value_tables import IDENTITY, KNOTS, ValueTables
from app.scoring.weights import WeightsError, validate_weights

__all__ = [
    "DEFAULT_BANDS",
    "DEFAULT_WEIGHTS",
    "FACTOR_KEYS",
    "FACTOR_NAMES",
    "FactorResult",
    "IDENTITY",
    "IdealCustomerProfile",
    "KNOTS",
    "LabelBands",
    "LeadFieldError",
    "ScoreResult",
    "ValueTables",
    "WeightsError",
    "compute_score",
    "factor_values",
    "score_lead",
    "validate_weights",
]
