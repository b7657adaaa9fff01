"""Simulated worlds for the learning benchmark: raw leads, clients and their truth.

Leads are generated as RAW records (email, lead status, job title, open and
click counts, creation date, filled-in fields, deals and notes) and turned into
the ten factor values by the product's own `app.scoring.factor_values`, so the
benchmark scores leads exactly as the product does. A client's conversion
probability is sigmoid(b + s * z), with b and s set per client for a ~20 % base
rate and a true ROC-AUC near 0.8, and z a function of the raw lead that is, in
every world but `our_model`, NOT a non-negative weighted sum of factor values:

- our_model: z = w . values, w the client's true weights (the premise).
- non_monotone: the middle lead status ("open") converts best, qualified badly.
- negative_effect: profile completeness lowers conversion once the rest is known.
- interaction: engagement and seniority count only together (their product).
- noisy_clients: our_model with client noise 0.3 instead of 0.2.
- sparse_peers: our_model with 6 peers per vertical.
- clicks_plentiful: our_model's wins, but clicks and replies are common and
  unrelated to the lead; only wins convert, and AUC is measured on wins.

A client's true weights w = normalise(centre[v] * exp(size[v] * d + country[v, c]
+ noise)): centre[v] half the vertical's documented prior and half random; size
and country effects as in the earlier benchmark (sd 0.15 per decade, 0.10).
"""

from dataclasses import dataclass

import numpy as np

from app.personalization.outcomes import REWARDS, Sample
from app.personalization.priors import PRIORS
from app.scoring import FACTOR_KEYS, factor_values

NOW = 1_800_000_000.0  # the scoring clock of every lead
DAY = 86_400.0
COUNTRIES = ("US", "GB", "DE", "FR", "PL", "UA")
SIZE_BANDS = ((1, 10), (11, 50), (51, 200), (201, 1000), (1001, 5000))
SIZE_EFFECT, COUNTRY_EFFECT = 0.15, 0.10
STATUSES = ("", "unqualified", "new", "open", "in_progress", "qualified")
TITLES = ("", "Analyst", "Sales Manager", "Director of Sales", "CEO")
STATUS, ENGAGEMENT, COMPLETE, SENIORITY = (
    FACTOR_KEYS.index(k)
    for k in (
        "lead_status",
        "engagement_score",
        "profile_completeness",
        "company_size_bucket",
    )
)
# non_monotone: value of each lead status (index as STATUSES); "open" is best.
MIDDLE_STATUS_BEST = np.array([0.0, 0.1, 0.6, 1.0, 0.6, 0.15])


@dataclass(frozen=True)
class Scenario:
    """One named world: how truth is made and what the world looks like."""

    name: str
    truth: str = "linear"  # linear | non_monotone | negative | interaction
    client_noise: float = 0.20
    peers_per_vertical: int = 15
    clicks_plentiful: bool = False


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("our_model"),
        Scenario("non_monotone", truth="non_monotone"),
        Scenario("negative_effect", truth="negative"),
        Scenario("interaction", truth="interaction"),
        Scenario("noisy_clients", client_noise=0.30),
        Scenario("sparse_peers", peers_per_vertical=6),
        Scenario("clicks_plentiful", clicks_plentiful=True),
    )
}
MISSPECIFIED = tuple(name for name in SCENARIOS if name != "our_model")


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class Leads:
    """Leads as the product sees them (factor values) and their raw attributes."""

    values: np.ndarray  # n x 10, from app.scoring.factor_values
    status: np.ndarray  # index into STATUSES
    seniority: np.ndarray  # index into TITLES


def make_leads(rng: np.random.Generator, n: int, prefix: str = "lead") -> Leads:
    """n raw leads with realistic correlations, read by the product's factors."""
    q = rng.normal(size=n)  # a lead's latent warmth: complete, engaged, senior
    u = rng.random((n, 8))
    has_email, valid = u[:, 0] < 0.92, u[:, 1] < 0.93
    company = u[:, 2] < sigmoid(0.8 + 0.6 * q)
    industry = u[:, 3] < sigmoid(0.2 + 0.5 * q)
    days = np.floor(rng.exponential(60.0, n))
    status = 1 + np.digitize(0.7 * q + rng.normal(size=n), [-1.3, 0, 0.7, 1.4])
    status[u[:, 4] < 0.1] = 0
    opens = rng.poisson(np.exp(0.2 + 0.6 * q + rng.normal(0, 0.5, n)))
    opens[u[:, 5] < 0.35] = 0
    clicks = rng.binomial(opens, np.clip(0.12 + 0.05 * q, 0.01, 0.9))
    seniority = 1 + np.digitize(0.4 * q + rng.normal(size=n), [0.1, 0.9, 1.5])
    seniority[u[:, 6] < 0.2] = 0
    filled = rng.random((n, 5)) < sigmoid(0.4 + 0.6 * q)[:, None]
    deals = u[:, 7] < sigmoid(-2 + 0.7 * q)
    notes_days = np.where(rng.random(n) < 0.3, 5, 60)
    rows = []
    for i in range(n):
        email = f"{prefix}{i}@corp{i % 97}" + (".example" if valid[i] else "")
        first, last, phone, city, country = filled[i]
        rows.append(
            factor_values(
                {
                    "email": email if has_email[i] else "",
                    "first_name": "Ann" if first else "",
                    "last_name": "Lee" if last else "",
                    "phone": "+100000" if phone else "",
                    "city": "Lviv" if city else "",
                    "country": "UA" if country else "",
                    "company": "Acme" if company[i] else "",
                    "industry": "Software" if industry[i] else "",
                    "job_title": TITLES[seniority[i]],
                    "lead_status": STATUSES[status[i]],
                    "email_open_count": int(opens[i]),
                    "email_click_count": int(clicks[i]),
                    "create_date": int((NOW - days[i] * DAY - 3600) * 1000),
                    "num_deals": 1 if deals[i] else 0,
                    "notes_last_updated": int((NOW - notes_days[i] * DAY) * 1000),
                },
                NOW,
            )
        )
    return Leads(np.array(rows, dtype=float), status, seniority)


class WorldClient:
    """A simulated client: profile, hidden truth and its own outcome model."""

    def __init__(
        self, cid, vertical, size, country, weights, scenario, rng, shared=None
    ):
        self.cid, self.vertical, self.size, self.country = cid, vertical, size, country
        self.scenario, self.rng = scenario, rng
        self.weights = self._shaped(weights)
        # What similar clients can teach at best: the truth of the client's
        # vertical, size and country without its own noise (a weighted sum).
        self.shared = self._shaped(shared if shared is not None else weights)
        reference = self.signal(make_leads(rng, 3000, f"{cid}-ref"))
        self.slope = 1.7 / reference.std()  # true AUC ~0.8
        centred = self.slope * (reference - reference.mean())
        lo, hi = -10.0, 10.0
        for _ in range(50):  # intercept for a 20 % base rate
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if sigmoid(centred + mid).mean() < 0.2 else (lo, mid)
        self.intercept = lo - self.slope * reference.mean()

    def _shaped(self, w: np.ndarray) -> np.ndarray:
        w = w.copy()
        if self.scenario.truth == "non_monotone":
            w[STATUS] = 0.35 * w.sum() / 0.65  # status is 35 % of the signal
        elif self.scenario.truth == "negative":
            w[COMPLETE] = 0.0
        elif self.scenario.truth == "interaction":
            w[ENGAGEMENT] = w[SENIORITY] = 0.0
        return w / w.sum()

    def signal(self, leads: Leads) -> np.ndarray:
        """z, the truth's score of each lead (higher converts more)."""
        x, kind = leads.values, self.scenario.truth
        z = x @ self.weights
        if kind == "non_monotone":
            z += self.weights[STATUS] * (
                MIDDLE_STATUS_BEST[leads.status] - x[:, STATUS]
            )
        elif kind == "negative":
            z -= 0.3 * x[:, COMPLETE]
        elif kind == "interaction":
            z += 0.6 * x[:, ENGAGEMENT] * x[:, SENIORITY]
        return z

    def probability(self, leads: Leads) -> np.ndarray:
        return sigmoid(self.intercept + self.slope * self.signal(leads))

    def outcomes(self, n: int) -> list[Sample]:
        """n outcomes as the feedback actions a CRM would report."""
        if n == 0:  # a newcomer-only run (--sizes 0)
            return []
        leads = make_leads(self.rng, n, f"{self.cid}-own")
        x = leads.values
        won = self.rng.random(n) < self.probability(leads)
        u, v = self.rng.random(n), self.rng.random(n)
        bounced = (x[:, 1] == 0) & (u < 0.7) | (u < 0.03)
        if self.scenario.clicks_plentiful:  # only wins convert; clicks say nothing
            lost = np.where(
                v < 0.4, "clicked", np.where(v < 0.55, "replied", "ignored")
            )
            actions = np.where(won, "converted", np.where(bounced, "bounced", lost))
        else:
            actions = np.where(
                won,
                np.where(
                    u < 0.35, "converted", np.where(u < 0.7, "replied", "clicked")
                ),
                np.where(bounced, "bounced", "ignored"),
            )
        return [
            Sample(tuple(x[i]), REWARDS[str(actions[i])], f"{self.cid}-{i}")
            for i in range(n)
        ]


def size_decades(size: tuple[int, int]) -> float:
    """A size band's distance from the middle band, in decades of employees."""
    return float(np.log10((size[0] + size[1]) / 2) - np.log10((51 + 200) / 2))


def build_world(
    scenario: Scenario,
    rng: np.random.Generator,
    verticals: list[str],
    targets: int,
    newcomers: int = 0,
    newcomer_rng: np.random.Generator | None = None,
) -> tuple[list[WorldClient], list[WorldClient], list[WorldClient]]:
    """Peers (peers_per_vertical in each vertical), target clients, and
    `newcomers` more clients per vertical drawn from `newcomer_rng` (so adding
    them leaves the peers and targets of a seed as they were)."""
    peers: list[WorldClient] = []
    clients: list[WorldClient] = []
    extra: list[WorldClient] = []
    for v in verticals:
        centre = 0.5 * np.asarray(PRIORS[v]) + 0.5 * rng.dirichlet(np.ones(10))
        size_slope = rng.normal(0, SIZE_EFFECT, 10)
        shift = {c: rng.normal(0, COUNTRY_EFFECT, 10) for c in COUNTRIES}

        def draw(cid: str, r=rng, v=v, centre=centre, slope=size_slope, shift=shift):
            size = SIZE_BANDS[r.integers(len(SIZE_BANDS))]
            country = COUNTRIES[r.integers(len(COUNTRIES))]
            log_effect = slope * size_decades(size) + shift[country]
            noise = r.normal(0, scenario.client_noise, 10)
            truth = centre * np.exp(log_effect + noise)
            shared = centre * np.exp(log_effect)
            return WorldClient(cid, v, size, country, truth, scenario, r, shared)

        peers += [
            draw(f"{v[:16]}-peer{j:02d}") for j in range(scenario.peers_per_vertical)
        ]
        clients += [draw(f"{v[:16]}-client{t}") for t in range(targets)]
        if newcomers:
            extra += [draw(f"{v[:16]}-new{j}", newcomer_rng) for j in range(newcomers)]
    return peers, clients, extra
