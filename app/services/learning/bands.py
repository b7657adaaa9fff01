"""Label bands of a client: learned with each personalised weight version from the
client's own outcomes, pinned by the operator, or the seed's 80 / 60 / 40.

Which bands a client is served: pinned bands win; else a client on pinned
(custom) weights keeps the seed's; else the latest version's learned bands; a
version without any (default, industry_prior, similar_clients) means the seed's.
"""

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client, Feedback, WeightVersion
from app.personalization.bands import (
    ScoredOutcome,
    bands_from_json,
    bands_to_json,
    learn_bands,
)
from app.personalization.outcomes import CONVERSION, REWARDS, WEAK_BUDGET
from app.scoring import (
    DEFAULT_BANDS,
    FACTOR_KEYS,
    IDENTITY,
    LabelBands,
    ValueTables,
    compute_score,
)
from app.scoring.weights import validate_weights
from app.services.errors import NotFound
from app.services.learning.tables import stored_tables

log = logging.getLogger(__name__)

# Latest outcome rows a client's bands are learned from: recent enough to follow
# the client's leads, bounded so a publish costs the same for every client.
BAND_OUTCOME_ROWS = 5_000


def stored_bands(version: WeightVersion | None) -> LabelBands:
    """The bands kept with a weight version; the seed's when it has none."""
    raw = None if version is None else (version.details or {}).get("bands")
    if raw is None:
        return DEFAULT_BANDS
    try:
        return bands_from_json(raw)
    except ValueError:  # written by hand or by an older release: never fatal
        log.warning("weight version %s has unusable bands %r", version.id, raw)
        return DEFAULT_BANDS


def served_bands(client: Client, latest: WeightVersion | None) -> LabelBands:
    """The bands a client's scores are labelled with now (`latest`: its newest
    weight version)."""
    if client.pinned_bands is not None:
        try:
            return bands_from_json(client.pinned_bands)
        except ValueError:
            log.warning("client %s has unusable pinned bands", client.id)
    if client.pinned_weights is not None:
        return DEFAULT_BANDS
    return stored_bands(latest)


def attach_learned_bands(
    session: Session, version: WeightVersion, previous: WeightVersion | None
) -> None:
    """Store in a personalised version (not yet added) the bands learned from its
    client's outcomes scored under its weights, at most a few points from the
    `previous` version's; other versions get none and mean the seed's."""
    if not version.personalised:
        return
    weights = validate_weights(version.weights)
    tables = stored_tables(version)
    bands = learn_bands(
        _scored_outcomes(session, version.client_id, weights, tables),
        stored_bands(previous),
    )
    version.details = {**(version.details or {}), "bands": bands_to_json(bands)}


def refresh_learned_bands(session: Session, client: Client) -> WeightVersion | None:
    """After a refit that published nothing, let the bands of a personalised
    client keep following its outcomes: when they would move, publish the same
    weights again as the next version with the new bands (caller commits).

    Without this, a client whose weights have settled would keep bands stuck a
    step short of its score distribution, as each version moves them a few
    points at most.
    """
    if client.pinned_weights is not None:
        return None
    latest = _latest(session, client.id)
    if latest is None or not latest.personalised:
        return None
    following = WeightVersion(
        client_id=client.id,
        version=latest.version + 1,
        method=latest.method,
        weights=dict(latest.weights),
        personalised=True,
        n_outcomes=latest.n_outcomes,
        holdout_auc=latest.holdout_auc,
        details=dict(latest.details or {}),
    )
    attach_learned_bands(session, following, latest)
    if following.details["bands"] == (latest.details or {}).get("bands"):
        return None
    try:
        with session.begin_nested():
            session.add(following)
    except IntegrityError:  # a concurrent publish came first; the next refit retries
        return None
    return following


def _latest(session: Session, client_id: str) -> WeightVersion | None:
    return session.scalar(
        select(WeightVersion)
        .where(WeightVersion.client_id == client_id)
        .order_by(WeightVersion.version.desc())
        .limit(1)
    )


def _scored_outcomes(
    session: Session,
    client_id: str,
    weights: tuple[float, ...],
    tables: ValueTables = IDENTITY,
) -> list[ScoredOutcome]:
    """One (score, converted) per lead among the client's latest outcomes: the
    lead's latest factor values scored under `weights` and `tables`.

    Converted means a conversion once the outcomes hold WEAK_BUDGET of them (as
    outcome grades stop counting replies and clicks then); before that, any
    positive outcome (converted, replied, clicked). Where clicks are common and
    say nothing of conversion, counting them made the base rate so high that no
    band could convert at 1.7x it, and Hot shrank to a few percent of leads.
    """
    rows = session.execute(
        select(Feedback.lead_key, Feedback.action, Feedback.factor_values)
        .where(Feedback.client_id == client_id)
        .order_by(Feedback.id.desc())
        .limit(BAND_OUTCOME_ROWS)
    ).all()
    conversions = sum(1 for _, action, _ in rows if action == "converted")
    threshold = CONVERSION if conversions >= WEAK_BUDGET else 0.0
    leads: dict[str, tuple[int, bool]] = {}
    for lead_key, action, values in rows:  # newest first
        reward = REWARDS.get(action, 0.0)
        positive = reward >= threshold if threshold else reward > 0
        seen = leads.get(lead_key)
        if seen is not None:
            leads[lead_key] = (seen[0], seen[1] or positive)
        elif isinstance(values, list) and len(values) == len(FACTOR_KEYS):
            leads[lead_key] = (
                compute_score(tables.apply(values), weights),
                positive,
            )
    return [ScoredOutcome(score, converted) for score, converted in leads.values()]


def pin_bands(
    sessions: sessionmaker[Session], client_id: str, bands: LabelBands | None
) -> LabelBands:
    """Pin a client's bands (None unpins them) and return the bands it is served."""
    with sessions.begin() as session:
        client = session.get(Client, client_id)
        if client is None:
            raise NotFound(f"No client {client_id}")
        client.pinned_bands = None if bands is None else bands_to_json(bands)
        return served_bands(client, _latest(session, client_id))
