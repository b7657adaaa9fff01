"""The similar clients a refit can learn from, loaded once per refit run.

A peer is a client with at least MIN_OUTCOMES outcomes whose weights are not
pinned, whether or not its own refits were served: a client whose own outcomes
did not beat its prior still holds honest evidence of what converts (leaving
such clients out pooled 11-15 of 15 similar clients in the learning benchmark,
and a newcomer's prior closed ~1 point less of its gap). Its outcomes reach
other clients' weights only through `pooling.cap_per_day`: at most POOL_PER_DAY
of each day (by Feedback.created_at) count, so a burst of invented outcomes buys
no more than a steady day's worth.
The client's own refit reads all its outcomes (`own_samples`) uncapped.

Refitting 10,000 clients (benchmarks/refit_scale.py) asks for the outcomes of
thousands of peers, each of them by dozens of clients: the pool keeps them as
arrays (`PeerOutcomes`) up to CACHED_ROWS in all, enough for every peer of such
a run, so each is read once.
"""

from collections import OrderedDict

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Client, Feedback, WeightVersion
from app.personalization.outcomes import Sample
from app.personalization.peer_outcomes import POOL_PER_DAY, PeerOutcomes, cap_per_day
from app.personalization.priors import DEFAULT
from app.personalization.similarity import MIN_OUTCOMES, Peer, PeerIndex
from app.scoring import validate_weights
from app.services.learning.profiles import profile_of

NEIGHBOUR_ROWS = 2_000  # latest outcomes of each similar client that are read
# Pooled outcomes one run keeps in memory, over all peers (~90 bytes each).
CACHED_ROWS = 2_000_000


class PeerPool:
    """Every peer's profile and weights, and their pooled outcomes on demand.

    Built once per refit run, so refitting N clients reads the peers once rather
    than N times; outcomes are read per peer on first use and kept for the run
    (at most CACHED_ROWS outcomes, least recently used peers dropped first).
    `peers` is indexed by vertical for `similarity.nearest`.
    """

    def __init__(
        self,
        peers: list[Peer],
        per_day: int = POOL_PER_DAY,
        cached_rows: int = CACHED_ROWS,
    ) -> None:
        self.peers = PeerIndex(peers)
        self._per_day = per_day
        self._cached_rows = cached_rows
        self._rows = 0
        self._outcomes: OrderedDict[str, PeerOutcomes] = OrderedDict()

    @classmethod
    def load(cls, session: Session, per_day: int = POOL_PER_DAY) -> "PeerPool":
        """The peers as the database holds them now."""
        return cls(_peers(session), per_day)

    def outcomes(self, session: Session, client_id: str) -> PeerOutcomes:
        """A peer's latest outcomes as they count for others, oldest first."""
        cached = self._outcomes.get(client_id)
        if cached is None:
            cached = PeerOutcomes(_pooled_samples(session, client_id, self._per_day))
            self._outcomes[client_id] = cached
            self._rows += len(cached)
            while self._rows > self._cached_rows and len(self._outcomes) > 1:
                self._rows -= len(self._outcomes.popitem(last=False)[1])
        else:
            self._outcomes.move_to_end(client_id)
        return cached


def _peers(session: Session) -> list[Peer]:
    """Unpinned clients with MIN_OUTCOMES outcomes, with their latest weights."""
    latest = (
        select(WeightVersion.client_id, func.max(WeightVersion.version).label("v"))
        .group_by(WeightVersion.client_id)
        .subquery()
    )
    counted = (
        select(Feedback.client_id, func.count().label("n"))
        .group_by(Feedback.client_id)
        .having(func.count() >= MIN_OUTCOMES)
        .subquery()
    )
    rows = session.execute(
        select(Client, counted.c.n, WeightVersion.weights)
        .join(counted, counted.c.client_id == Client.id)
        .outerjoin(latest, latest.c.client_id == Client.id)
        .outerjoin(
            WeightVersion,
            (WeightVersion.client_id == latest.c.client_id)
            & (WeightVersion.version == latest.c.v),
        )
        .where(Client.pinned_weights.is_(None))  # pinned clients teach nobody
    ).all()
    # Weights only stand for a peer where its outcomes are not read (`combine`);
    # one never refitted yet stands for the defaults.
    return [
        Peer(
            client.id,
            profile_of(client),
            validate_weights(weights) if weights else DEFAULT,
            n,
        )
        for client, n, weights in rows
    ]


def own_samples(session: Session, client_id: str) -> list[Sample]:
    """All of a client's outcomes, oldest first, for its own refit."""
    # Columns, not ORM objects: a refit of every client reads millions of rows.
    rows = session.execute(
        select(Feedback.factor_values, Feedback.reward, Feedback.lead_key, Feedback.id)
        .where(Feedback.client_id == client_id)
        .order_by(Feedback.id)
    )
    return [
        Sample(tuple(values), reward, lead_key, arrival)
        for values, reward, lead_key, arrival in rows
    ]


def _pooled_samples(session: Session, client_id: str, per_day: int) -> list[Sample]:
    """A peer's latest NEIGHBOUR_ROWS outcomes, at most `per_day` of each day."""
    rows = list(
        session.execute(
            select(Feedback.created_at, Feedback.factor_values, Feedback.reward)
            .where(Feedback.client_id == client_id)
            .order_by(Feedback.id.desc())
            .limit(NEIGHBOUR_ROWS)
        )
    )[::-1]
    # No lead keys: others' weights learn from factor values and rewards only.
    return cap_per_day(
        (
            (created.date(), Sample(tuple(values), reward))
            for created, values, reward in rows
        ),
        per_day,
    )
