"""Publishing weight versions: the prior a client starts from, and refits that learn
from its feedback and from similar clients. Every version is kept with its method,
data size and held-out quality."""

import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client, Feedback, WeightVersion
from app.personalization.learning import FitResult, fit_weights
from app.personalization.outcomes import Sample
from app.personalization.selection import (
    DEFAULT_METHOD,
    INDUSTRY_PRIOR,
    MIN_SIMILAR_CLIENTS,
    WeightChoice,
    personalise,
    prior_choice,
)
from app.personalization.similarity import nearest
from app.scoring import DEFAULT_WEIGHTS, FACTOR_KEYS, validate_weights
from app.scoring.weights import weights_mapping
from app.services.learning.bands import attach_learned_bands, refresh_learned_bands
from app.services.learning.peers import PeerPool, own_samples
from app.services.learning.profiles import profile_of
from app.services.learning.tables import TABLES_KEY, stored_tables

REFIT_AFTER_NEW_FEEDBACK = (
    10  # new outcomes since the last version that trigger a refit
)
_CHANGE_EPSILON = 1e-6
# Times a version number is taken again after a concurrent publish took it first.
_PUBLISH_ATTEMPTS = 5


@dataclass(frozen=True)
class PublishedWeights:
    """The weights a client is served now."""

    client_id: str
    method: str
    weights: dict[str, float]
    version: int | None
    personalised: bool = False


def latest_version(session: Session, client_id: str) -> WeightVersion | None:
    """The newest published version of a client, if any."""
    return session.scalar(
        select(WeightVersion)
        .where(WeightVersion.client_id == client_id)
        .order_by(WeightVersion.version.desc())
        .limit(1)
    )


def current_weights(session: Session, client: Client) -> PublishedWeights:
    """Pinned weights win; else the latest version; else the baseline."""
    if client.pinned_weights is not None:
        return PublishedWeights(client.id, "custom", dict(client.pinned_weights), None)
    version = latest_version(session, client.id)
    if version is None:
        return PublishedWeights(client.id, "default", dict(DEFAULT_WEIGHTS), None)
    return PublishedWeights(
        client.id,
        version.method,
        dict(version.weights),
        version.version,
        version.personalised,
    )


def refit(
    session: Session, client: Client, peers: PeerPool | None = None
) -> WeightVersion | None:
    """Recompute a client's weights; add a version when they changed (caller commits).

    The prior follows the similar clients as they learn; the client's own outcomes
    personalise it once there are enough, and only when the held-out check holds.
    A rejected refit keeps the current personalised weights. `peers` is the run's
    PeerPool (read now when None).
    """
    if client.pinned_weights is not None:
        return None
    peers = peers if peers is not None else PeerPool.load(session)
    profile = profile_of(client)
    neighbours = nearest(profile, peers.peers, exclude=client.id)
    current = latest_version(session, client.id)
    samples = own_samples(session, client.id)
    # Similar clients' outcomes (factor values and rewards only, capped per day)
    # are pooled into one robust fit (pooling.py).
    pooled = (
        {n.client_id: peers.outcomes(session, n.client_id) for n in neighbours}
        if len(neighbours) >= MIN_SIMILAR_CLIENTS
        else None
    )
    prior = prior_choice(
        neighbours,
        profile.vertical,
        neighbour_samples=pooled,
        company_size=profile.company_size,
    )
    fit = None
    if samples:
        previous = validate_weights(current.weights) if current else prior.weights
        fit = fit_weights(
            samples,
            prior.weights,
            prior_method=prior.method,
            prior_tables=prior.tables,
            previous=previous,
            previous_tables=stored_tables(current),
            previous_seen_until=_seen_until(current, samples),
        )

    def still_wanted(latest: WeightVersion | None) -> bool:
        # A rejected fit keeps whatever personalised weights are served.
        return not (
            fit is not None and not fit.accepted and latest and latest.personalised
        )

    if not still_wanted(current):
        return None
    choice = personalise(prior, fit)
    return _publish_if_changed(
        session, client, current, choice, fit, len(samples), still_wanted
    )


def _seen_until(current: WeightVersion | None, samples: list[Sample]) -> int | None:
    """The last outcome (Feedback.id) the served version was fitted on.

    None when it is a prior (fitted on none of the client's outcomes); a
    personalised version that predates the record counts as having seen all.
    """
    if current is None or not current.personalised:
        return None
    seen = current.details.get("fitted_through")
    if isinstance(seen, int):
        return seen
    return max((sample.arrival for sample in samples), default=0)


def _publish_if_changed(
    session: Session,
    client: Client,
    current: WeightVersion | None,
    choice: WeightChoice,
    fit: FitResult | None,
    n_outcomes: int,
    still_wanted: Callable[[WeightVersion | None], bool] = lambda _latest: True,
) -> WeightVersion | None:
    """Add the next version when `choice` differs from the latest one.

    Two publishers of one client (the worker's refit, `conturs weights refit`, a
    profile change) can read the same latest version and take the same next
    number. The insert runs in a savepoint: when the unique (client, version)
    refuses it, the newest version is read again and, if `still_wanted` by it and
    still different, published under the next free number.
    """
    weights = weights_mapping(tuple(choice.weights))
    for _ in range(_PUBLISH_ATTEMPTS):
        if _same_weights(current, choice, weights):
            return None
        version = _version_row(client, current, choice, fit, n_outcomes, weights)
        attach_learned_bands(session, version, current)
        try:
            with session.begin_nested():
                session.add(version)
        except IntegrityError:  # a concurrent publish took this number
            current = latest_version(session, client.id)
            if not still_wanted(current):
                return None
            continue
        return version
    raise RuntimeError(
        f"could not publish weights of {client.id}: "
        f"{_PUBLISH_ATTEMPTS} concurrent publishes took every number tried"
    )


def _same_weights(
    current: WeightVersion | None, choice: WeightChoice, weights: dict[str, float]
) -> bool:
    return (
        current is not None
        and current.method == choice.method
        and (current.details or {}).get(TABLES_KEY) == choice.details.get(TABLES_KEY)
        and all(
            math.isclose(
                current.weights.get(k, 0.0), weights[k], abs_tol=_CHANGE_EPSILON
            )
            for k in FACTOR_KEYS
        )
    )


def _version_row(
    client: Client,
    current: WeightVersion | None,
    choice: WeightChoice,
    fit: FitResult | None,
    n_outcomes: int,
    weights: dict[str, float],
) -> WeightVersion:
    personalised = bool(choice.details.get("personalised"))
    return WeightVersion(
        client_id=client.id,
        version=(current.version + 1) if current else 1,
        method=choice.method,
        weights=weights,
        personalised=personalised,
        n_outcomes=n_outcomes,
        holdout_auc=fit.holdout_auc_new if fit is not None and personalised else None,
        details={
            k: v
            for k, v in choice.details.items()
            if isinstance(v, str | int | float | bool | type(None))
            or k == "pooled_peers"  # {peer client id: share of the pooled fit}
            or k == TABLES_KEY  # {factor key: learned values at its knots}
        },
    )


def publish_prior(session: Session, client: Client) -> WeightVersion | None:
    """Publish the prior a client can have at once (default or industry_prior, no
    fitting), unless it is pinned or already served something learned; the refit
    that knows similar clients and own outcomes runs in the background."""
    if client.pinned_weights is not None:
        return None
    current = latest_version(session, client.id)
    if not _serves_a_prior(current):
        return None
    choice = prior_choice([], profile_of(client).vertical)
    return _publish_if_changed(
        session, client, current, choice, None, 0, _serves_a_prior
    )


def _serves_a_prior(latest: WeightVersion | None) -> bool:
    """Nothing learned has been published yet (a prior may replace a prior)."""
    cheap = (DEFAULT_METHOD, INDUSTRY_PRIOR)
    return latest is None or (not latest.personalised and latest.method in cheap)


def refit_due(session: Session, client_id: str) -> bool:
    """True on every REFIT_AFTER_NEW_FEEDBACK-th outcome of a client."""
    total = session.scalar(
        select(func.count())
        .select_from(Feedback)
        .where(Feedback.client_id == client_id)
    )
    return bool(total) and total % REFIT_AFTER_NEW_FEEDBACK == 0


def refit_clients(
    sessions: sessionmaker[Session], client_ids: list[str] | None = None
) -> list[PublishedWeights]:
    """Refit the given clients (all when None), each in its own transaction.

    The peers are read once for the run: every client is refit against the same
    snapshot of what the others had learned when it started.
    """
    with sessions() as session:
        ids = client_ids or list(session.scalars(select(Client.id).order_by(Client.id)))
        peers = PeerPool.load(session)
    published = []
    for client_id in ids:
        with sessions.begin() as session:
            client = session.get(Client, client_id)
            if client is None:
                continue
            refit(session, client, peers) or refresh_learned_bands(session, client)
            session.flush()
            published.append(current_weights(session, client))
    return published
