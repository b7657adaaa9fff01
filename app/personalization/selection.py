"""Which weights a client is served, and under which method name.

Order (first that applies):

1. `custom` — weights the account pinned. Never overridden by anything learned.
2. The client's own learned weights, once a refit was accepted (>= 30 outcomes with
   >= 5 positive and >= 5 negative, held-out AUC not worse). They were shrunk
   toward the prior of step 3, and are reported under that prior's method name
   with `details["personalised"] = True` and the data size: the method names stay
   the seed's (`similar_clients`, `industry_prior`, `default`) plus `custom`, and
   the name always says where the weights started from.
3. The prior: `similar_clients` with >= 5 similar clients that have enough
   feedback; else `industry_prior` when the vertical is known; else `default`.
   Given the similar clients' outcomes (`neighbour_samples`), `similar_clients`
   is their pooled fit (`pooling.py`), served only when it ranks held-out similar
   clients' outcomes no worse than the industry prior (else the fallback prior is
   served under its own name), with each contributing peer's share in
   `details["pooled_peers"]`, and with value tables when the neighbours'
   outcomes earn them (`pooled_tables.py`; `details["value_tables"]`); without
   their outcomes, the combination of their learned weights
   (`similarity.combine`).

A personalised version keeps its own fit's tables: its own, the prior's (when
weights alone were refitted on the prior's tables), or none.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from app.personalization.candidates import Model
from app.personalization.learning import FitResult
from app.personalization.outcomes import Sample
from app.personalization.pooling import pooled_fit
from app.personalization.priors import DEFAULT, Weights, prior_for
from app.personalization.profile import SizeRange
from app.personalization.settings import DEFAULT_SETTINGS
from app.personalization.similarity import Neighbour, combine, size_decades
from app.scoring import ValueTables

MIN_SIMILAR_CLIENTS = 5  # the seed's rule for `similar_clients`

TABLES = "value_tables"  # where a weight version keeps its tables (details)

CUSTOM = "custom"
SIMILAR_CLIENTS = "similar_clients"
INDUSTRY_PRIOR = "industry_prior"
DEFAULT_METHOD = "default"
METHODS = (CUSTOM, SIMILAR_CLIENTS, INDUSTRY_PRIOR, DEFAULT_METHOD)


@dataclass(frozen=True, slots=True)
class WeightChoice:
    """Weights to serve, the method to report, and the facts behind the choice."""

    method: str
    weights: Weights
    details: Mapping[str, object] = field(default_factory=dict)
    # Value tables served with the weights (None: the seed's values); also in
    # details["value_tables"], where a weight version keeps them.
    tables: ValueTables | None = None


def prior_choice(
    neighbours: Sequence[Neighbour],
    vertical: str | None,
    *,
    neighbour_samples: Mapping[str, Sequence[Sample]] | None = None,
    company_size: SizeRange | None = None,
) -> WeightChoice:
    """similar_clients (>= 5 neighbours) -> industry_prior (known vertical) -> default.

    Also the prior that a client's own learning is shrunk toward.
    `neighbour_samples` maps a neighbour's client_id to its outcomes (see the
    module docstring); None keeps the combination of their learned weights.
    Pooled weights are moved to the client's `company_size` when their size
    tilt passed its check (size_tilt.py; `details["size_tilt"]`).
    """
    industry = prior_for(vertical)
    fallback_method = INDUSTRY_PRIOR if industry is not None else DEFAULT_METHOD
    fallback = industry if industry is not None else DEFAULT
    facts: dict[str, object] = {
        "vertical": vertical,
        "similar_clients": len(neighbours),
    }
    if len(neighbours) >= MIN_SIMILAR_CLIENTS:
        facts["neighbour_outcomes"] = sum(n.n_outcomes for n in neighbours)
        if neighbour_samples is None:
            return WeightChoice(
                SIMILAR_CLIENTS, combine(neighbours), MappingProxyType(facts)
            )
        pooled = pooled_fit(
            neighbours, neighbour_samples, fallback, prior_method=fallback_method
        )
        facts.update(
            pooled=pooled.accepted,
            pooled_outcomes=pooled.n_samples,
            pooled_holdout_auc=pooled.holdout_auc_new,
            pooled_holdout_auc_prior=pooled.holdout_auc_prior,
            # which peers the estimate came from, and each one's share of it
            pooled_peers=dict(pooled.contributors),
        )
        if pooled.accepted and pooled.weights is not None:
            served = Model(pooled.weights, pooled.tables)
            decades = size_decades(company_size)
            if pooled.size_tilt is not None and decades is not None:
                served = pooled.size_tilt.at(served, decades, DEFAULT_SETTINGS.floor)
                facts["size_tilt"] = pooled.size_tilt.to_json(decades)
            if served.tables is not None:
                facts[TABLES] = served.tables.to_json()
            return WeightChoice(
                SIMILAR_CLIENTS, served.weights, MappingProxyType(facts), served.tables
            )
        facts["pooled_rejected"] = pooled.reason
    return WeightChoice(fallback_method, fallback, MappingProxyType(facts))


def choose_weights(
    *,
    pinned: Weights | None,
    own_fit: FitResult | None,
    neighbours: Sequence[Neighbour],
    vertical: str | None,
    neighbour_samples: Mapping[str, Sequence[Sample]] | None = None,
) -> WeightChoice:
    """The weights to serve now (see the module docstring for the rules).

    `own_fit` is the fit behind the client's current personalised version — an
    accepted FitResult — or None; a rejected fit changes nothing.
    `neighbour_samples` is passed on to `prior_choice`.
    """
    if pinned is not None:
        return WeightChoice(CUSTOM, tuple(pinned), MappingProxyType({"pinned": True}))
    base = prior_choice(neighbours, vertical, neighbour_samples=neighbour_samples)
    return personalise(base, own_fit)


def personalise(base: WeightChoice, own_fit: FitResult | None) -> WeightChoice:
    """Serve the client's own accepted fit under its prior's method, else the prior.

    For callers that already hold the prior (computing it can mean a pooled fit).
    """
    if own_fit is None or not own_fit.accepted:
        return WeightChoice(
            base.method,
            base.weights,
            MappingProxyType({**base.details, "personalised": False}),
            base.tables,
        )
    details = {
        **base.details,
        "personalised": True,
        "own_outcomes": own_fit.n_samples,
        "holdout_auc": own_fit.holdout_auc_new,
        "holdout_auc_before": own_fit.holdout_auc_prior,
        # The honest check: against what, on how many outcomes neither side was
        # fitted on, and the last outcome these weights saw.
        "judged_against": own_fit.judged_against,
        "judged_outcomes": own_fit.judged_outcomes,
        "fitted_through": own_fit.fitted_through,
    }
    details.pop(TABLES, None)
    if own_fit.tables is not None:
        details[TABLES] = own_fit.tables.to_json()
    return WeightChoice(
        base.method, own_fit.weights, MappingProxyType(details), own_fit.tables
    )
