"""Which value tables a client is served: those kept with its latest weight
version (learned from its own outcomes, or from similar clients' for a
similar_clients prior); none (the seed's values) for default, industry_prior and
pinned (custom) weights, so those clients score exactly as the seed's reference
does."""

import logging

from app.models import Client, WeightVersion
from app.scoring import IDENTITY, ValueTables

log = logging.getLogger(__name__)

TABLES_KEY = "value_tables"  # where a weight version keeps its tables (details)


def stored_tables(version: WeightVersion | None) -> ValueTables:
    """The tables kept with a weight version; IDENTITY when it has none."""
    if version is None:
        return IDENTITY
    raw = (version.details or {}).get(TABLES_KEY)
    if raw is None:
        return IDENTITY
    try:
        return ValueTables.from_json(raw)
    except ValueError:  # written by hand or by an older release: never fatal
        log.warning("weight version %s has unusable value tables", version.id)
        return IDENTITY


def served_tables(client: Client, latest: WeightVersion | None) -> ValueTables:
    """The tables a client's leads are scored with now (`latest`: its newest
    weight version); pinned weights always keep the seed's values."""
    if client.pinned_weights is not None:
        return IDENTITY
    return stored_tables(latest)
