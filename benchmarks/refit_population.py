"""A deployment's worth of clients and outcomes, for the refit benchmark.

Clients are spread over the taxonomy's verticals with skewed shares (Zipf): the
largest vertical holds about a sixth of them, the smallest still a hundred or
more at 10,000 clients, the case where finding similar clients and pooling
their outcomes costs most. Each states an industry (a HubSpot value or label of
its vertical), a company size and a country, some an ICP, through the
product's `update_stated_profile`; a few state no industry.

Outcomes per client are skewed: most clients have 0-50, a fifth hundreds, a few
2,000-5,000. Leads come from the learning benchmark's generator (raw leads read
by the product's own factors); each client converts them by its own true
weights (its vertical's centre plus noise) at its own base rate, reported as the
five feedback actions, spread over 90 days.

Rows are bulk-inserted through SQLAlchemy core with the columns the services
write (`register_client`, `LocalFeedback.record_outcome`): feedback in the order
it arrived across all clients, so a client's rows are scattered over the table
as in production.
"""

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from learning_worlds import make_leads, sigmoid
from sqlalchemy import Engine, insert

from app.models import ApiKey, Client, Feedback
from app.personalization.outcomes import REWARDS
from app.personalization.priors import DEFAULT, PRIORS
from app.personalization.taxonomy import HUBSPOT_INDUSTRIES, VERTICALS
from app.services.keys import LeadKeys, hash_api_key
from app.services.learning.emails import canonical_email
from app.services.learning.profiles import update_stated_profile

START = datetime(2026, 6, 1, tzinfo=UTC)  # fixed, so a run's days are reproducible
DAYS = 90
VERTICAL_SKEW = 0.8  # Zipf exponent of the verticals' shares of clients
NO_INDUSTRY = 0.03  # clients that state no industry
FREE_MAIL = 0.05  # clients registered with a free-mail address
WITH_ICP = 0.3  # clients that state ICP industries
SIZES = {"1-10": 22, "11-50": 30, "51-200": 24, "201-500": 11, "501-1000": 6}
SIZES |= {"1001-5000": 5, "5001-20000": 2}
COUNTRIES = {"us": 38, "gb": 12, "de": 10, "fr": 7, "ca": 6, "au": 5, "nl": 5}
COUNTRIES |= {"pl": 5, "ua": 4, "es": 4, "in": 4}
# (share of clients, fewest, most outcomes): uniform in the first tier, log-uniform
# in the others.
OUTCOME_TIERS = ((0.74, 0, 50), (0.20, 50, 500), (0.045, 500, 2000))
OUTCOME_TIERS += ((0.015, 2000, 5000),)
ACTIONS = tuple(REWARDS)  # converted, replied, clicked, ignored, bounced
INSERT_BATCH = 5_000


@dataclass(frozen=True)
class Population:
    """What was built: client ids (sorted) and the number of outcome rows."""

    client_ids: list[str]
    outcomes: int


# Vertical -> the HubSpot industry values a CRM sends for it.
_HUBSPOT_NAMES = {
    v: sorted(name for name, key in HUBSPOT_INDUSTRIES.items() if key == v)
    for v in VERTICALS
}


def _pick(rng: random.Random, table: dict[str, int]) -> str:
    return rng.choices(list(table), weights=list(table.values()))[0]


def _vertical_shares() -> dict[str, float]:
    ranks = np.arange(1, len(VERTICALS) + 1) ** -VERTICAL_SKEW
    shares = (1 - NO_INDUSTRY) * ranks / ranks.sum()
    return dict(zip(VERTICALS, shares, strict=True))


def outcome_count(rng: random.Random) -> int:
    """Outcomes of one client from the skewed tiers."""
    draw = rng.random()
    for share, low, high in OUTCOME_TIERS:
        if draw < share:
            if low == 0:
                return rng.randint(low, high)
            return round(np.exp(rng.uniform(np.log(low), np.log(high))))
        draw -= share
    return OUTCOME_TIERS[-1][2]


def _client_row(rng: random.Random, index: int) -> dict:
    """A registered client with its stated profile, as the services store it."""
    draw, stated = rng.random(), {}
    for vertical, share in _vertical_shares().items():
        if draw < share:
            names = [VERTICALS[vertical], *_HUBSPOT_NAMES[vertical]]
            stated["industry"] = rng.choice(names)
            break
        draw -= share
    stated["company_size"] = _pick(rng, SIZES)
    country = _pick(rng, COUNTRIES)
    stated["country"] = country.upper()
    if rng.random() < WITH_ICP:
        stated["icp_industries"] = rng.sample(list(VERTICALS), rng.randint(1, 3))
    domain = f"company{index}.{ {'us': 'com', 'gb': 'co.uk'}.get(country, country) }"
    if rng.random() < FREE_MAIL:
        domain = "gmail.com"
    client = Client(
        id=f"cl_{rng.getrandbits(64):016x}",
        email=canonical_email(f"sales{index}@{domain}"),
        pinned_weights=None,
        pinned_bands=None,
    )
    update_stated_profile(client, stated)
    created = START - timedelta(days=rng.uniform(0, 365))
    return {
        "id": client.id,
        "email": client.email,
        "created_at": created,
        "stated_profile": client.stated_profile,
        "vertical": client.vertical,
    }


class Truth:
    """How one client's leads convert: its true weights and base rate."""

    def __init__(self, np_rng: np.random.Generator, centre: np.ndarray) -> None:
        weights = centre * np.exp(np_rng.normal(0, 0.25, len(centre)))
        self.weights = weights / weights.sum()
        self.base_rate = float(np_rng.uniform(0.1, 0.35))

    def actions(self, np_rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
        """The feedback action of each lead (index into ACTIONS)."""
        z = values @ self.weights
        slope = 1.7 / max(float(z.std()), 0.05)  # a true ROC-AUC near 0.8
        centred = slope * (z - z.mean())
        offset = np.log(self.base_rate / (1 - self.base_rate))
        won = np_rng.random(len(z)) < sigmoid(centred + offset)
        u = np_rng.random(len(z))
        bounced = ((values[:, 1] == 0) & (u < 0.7)) | (u < 0.03)
        positive = np.where(u < 0.35, 0, np.where(u < 0.7, 1, 2))
        return np.where(won, positive, np.where(bounced, 4, 3))


def build(engine: Engine, n_clients: int, seed: int = 1) -> Population:
    """Insert `n_clients` clients with their outcomes into a migrated database."""
    rng, np_rng = random.Random(seed), np.random.default_rng(seed)
    centres = {
        v: 0.5 * np.asarray(PRIORS.get(v, DEFAULT))
        + 0.5 * np_rng.dirichlet(np.ones(10))
        for v in [*VERTICALS, None]
    }
    clients = [_client_row(rng, i) for i in range(n_clients)]
    columns: list[np.ndarray] = []  # per client: time, action, client, 10 values
    for number, client in enumerate(clients):
        n = outcome_count(rng)
        if n == 0:
            continue
        values = make_leads(np_rng, n, client["id"]).values
        actions = Truth(np_rng, centres[client["vertical"]]).actions(np_rng, values)
        seconds = np_rng.uniform(0, DAYS * 86_400, n)
        columns.append(np.column_stack([seconds, actions, np.full(n, number), values]))
    outcomes = np.vstack(columns) if columns else np.zeros((0, 13))
    outcomes = outcomes[np.argsort(outcomes[:, 0], kind="stable")]
    with engine.begin() as connection:
        connection.execute(insert(Client), clients)
        connection.execute(insert(ApiKey), [_api_key(c["id"]) for c in clients])
    keys = LeadKeys(f"refit-benchmark-{seed}")
    for start in range(0, len(outcomes), INSERT_BATCH):
        rows = [
            _feedback_row(keys, clients[int(row[2])]["id"], row)
            for row in outcomes[start : start + INSERT_BATCH]
        ]
        with engine.begin() as connection:
            connection.execute(insert(Feedback), rows)
    return Population(sorted(c["id"] for c in clients), len(outcomes))


def _api_key(client_id: str) -> dict:
    key = "ck_" + hashlib.sha256(client_id.encode()).hexdigest()[:43]
    return {
        "client_id": client_id,
        "key_hash": hash_api_key(key),
        "prefix": key[:10],
        "created_at": START,
    }


def _feedback_row(keys: LeadKeys, client_id: str, row: np.ndarray) -> dict:
    action = ACTIONS[int(row[1])]
    # The lead's id: its time of arrival is unique within the client's outcomes.
    lead = f"{client_id}-{row[0]:.6f}@buyer.example"
    return {
        "client_id": client_id,
        "lead_key": keys.for_lead_id(lead),
        "action": action,
        "reward": REWARDS[action],
        "factor_values": row[3:].tolist(),
        "created_at": START + timedelta(seconds=float(row[0])),
    }
