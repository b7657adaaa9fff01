"""Which clients are similar, and how their learned weights combine.

Similarity is a weighted sum of profile agreements in [0, 1]. The vertical carries
0.6 and the `nearest` threshold is 0.5, so only clients in the same vertical can
ever count as similar: size, country and ICP refine the order among them but can
never make a recruiting agency a "similar client" of a SaaS vendor. A field unknown
on either side contributes nothing — unknown is not evidence of similarity.

That is also what makes `nearest` cheap over thousands of peers: a `PeerIndex`
groups them by vertical, and only the client's own vertical is scanned.
"""

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from app.personalization.priors import Weights
from app.personalization.profile import ClientProfile, SizeRange

VERTICAL_SHARE = 0.6
SIZE_SHARE = 0.15
COUNTRY_SHARE = 0.10
ICP_SHARE = 0.15
MIN_SIMILARITY = 0.5
MIN_OUTCOMES = 30  # a peer's weights count once it could personalise itself
DATA_HALF = 100.0  # outcomes at which a peer's data counts half of its similarity
# The most a peer from another vertical (or with none) can score.
OUTSIDE_VERTICAL_MAX = SIZE_SHARE + COUNTRY_SHARE + ICP_SHARE


@dataclass(frozen=True, slots=True)
class Peer:
    """Another client as a candidate neighbour: its profile and learned weights."""

    client_id: str
    profile: ClientProfile
    weights: Weights
    n_outcomes: int


@dataclass(frozen=True, slots=True)
class Neighbour:
    """A peer that counts as similar, with its similarity to the client."""

    client_id: str
    similarity: float
    weights: Weights
    n_outcomes: int
    # The peer's company size, which pooled weights may be tilted along
    # (size_tilt.py); None: unknown.
    company_size: SizeRange | None = None


class PeerIndex(Sequence[Peer]):
    """Peers in their given order, also grouped by vertical for `nearest`."""

    def __init__(self, peers: Iterable[Peer]) -> None:
        self._peers = list(peers)
        self._by_vertical: dict[str, list[Peer]] = {}
        for peer in self._peers:
            if peer.profile.vertical is not None:
                self._by_vertical.setdefault(peer.profile.vertical, []).append(peer)

    def __len__(self) -> int:
        return len(self._peers)

    def __getitem__(self, index: int) -> Peer:  # type: ignore[override]
        return self._peers[index]

    def __iter__(self) -> Iterator[Peer]:
        return iter(self._peers)

    def candidates(self, vertical: str | None, min_similarity: float) -> list[Peer]:
        """The peers that can reach `min_similarity` with a client of `vertical`:
        its vertical's only, when no peer outside it can score that much."""
        if min_similarity <= OUTSIDE_VERTICAL_MAX:
            return self._peers
        return self._by_vertical.get(vertical, []) if vertical is not None else []


def _size_midpoint(size: SizeRange) -> float:
    low, high = size
    return float(low) if high is None else (low + high) / 2


def size_decades(size: SizeRange | None) -> float | None:
    """log10 of a size range's midpoint in employees (an open range: its start)."""
    return None if size is None else math.log10(max(_size_midpoint(size), 1.0))


def size_similarity(a: SizeRange, b: SizeRange) -> float:
    """1 for the same order of magnitude of employees, 0 at two orders apart."""
    ratio = max(_size_midpoint(a), 1.0) / max(_size_midpoint(b), 1.0)
    return max(0.0, 1.0 - abs(math.log10(ratio)) / 2)


def similarity(a: ClientProfile, b: ClientProfile) -> float:
    """Profile similarity in [0, 1]; symmetric; the vertical dominates."""
    total = 0.0
    if a.vertical is not None and a.vertical == b.vertical:
        total += VERTICAL_SHARE
    if a.company_size is not None and b.company_size is not None:
        total += SIZE_SHARE * size_similarity(a.company_size, b.company_size)
    if a.country is not None and a.country == b.country:
        total += COUNTRY_SHARE
    if a.icp_industries and b.icp_industries:
        shared = len(a.icp_industries & b.icp_industries)
        total += ICP_SHARE * shared / len(a.icp_industries | b.icp_industries)
    return min(1.0, total)


def nearest(
    profile: ClientProfile,
    peers: Iterable[Peer],
    *,
    k: int = 20,
    min_outcomes: int = MIN_OUTCOMES,
    min_similarity: float = MIN_SIMILARITY,
    exclude: str | None = None,
) -> list[Neighbour]:
    """The k most similar peers with enough feedback, most similar first.

    Ties are broken by more outcomes, then by client id, so the answer does not
    depend on the order the database returns peers in. Given a PeerIndex, only
    the peers that can qualify are compared.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    if isinstance(peers, PeerIndex):
        peers = peers.candidates(profile.vertical, min_similarity)
    found = []
    for peer in peers:
        if peer.client_id == exclude or peer.n_outcomes < min_outcomes:
            continue
        score = similarity(profile, peer.profile)
        if score >= min_similarity:
            found.append(
                Neighbour(
                    peer.client_id,
                    score,
                    peer.weights,
                    peer.n_outcomes,
                    peer.profile.company_size,
                )
            )
    found.sort(key=lambda n: (-n.similarity, -n.n_outcomes, n.client_id))
    return found[:k]


def neighbour_weight(neighbour: Neighbour, data_half: float = DATA_HALF) -> float:
    """How much one neighbour counts: similarity x n / (n + data_half)."""
    n = neighbour.n_outcomes
    return neighbour.similarity * n / (n + data_half)


def combine(neighbours: Sequence[Neighbour], data_half: float = DATA_HALF) -> Weights:
    """Similarity- and data-weighted mean of the neighbours' weights (sums to 1).

    Data counts with diminishing returns, so one client with 10,000 outcomes does
    not outvote four similar ones with 300 each.
    """
    if not neighbours:
        raise ValueError("combine needs at least one neighbour")
    shares = [neighbour_weight(n, data_half) for n in neighbours]
    total = sum(shares)
    if not total > 0:
        raise ValueError("neighbours must have positive similarity and outcomes")
    mixed = [
        sum(share * n.weights[i] for share, n in zip(shares, neighbours, strict=True))
        / total
        for i in range(len(neighbours[0].weights))
    ]
    norm = sum(mixed)
    return tuple(w / norm for w in mixed)
