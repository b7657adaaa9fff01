"""Can clients that lie steer a newcomer's weights? Pooling under attack.

Six honest clients with the same profile (a B2B software vendor, 11-50 staff, US)
each report 300 outcomes drawn from one set of true weights. Then k attackers
register with that profile and hold every cheap trust signal: accounts aged 90
days by an injected clock, leads scored through the scoring service as POST
/leads does, a steady daily volume of outcomes. Each sends 1,000 invented
outcomes in which a company match always converts (pushing `has_company_match`
up). A newcomer with the same profile and no outcomes of its own is served
`similar_clients` weights; attackers join its neighbours without displacing the
honest ones.

Everything runs through the services on SQLite: `create_client`, the stated
profile, `LeadScoring` + `ScoreRecorder`, `LocalFeedback`, and the production
`refit_clients`. Fixed seeds. For k = 0..5 it prints the L1 distance of the
newcomer's weights from k = 0 and the largest score move over 500 reference
leads; exits 1 when k <= 2 moves weights more than 0.05 (L1) or a score more than
3 points.

    python benchmarks/poisoning.py [--burst] [--honest N] [--attack N] [--max-k K]

--burst sends each attacker's outcomes on one day instead of spread over 90.
"""

import argparse
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import event

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from app.db import make_engine, make_session_factory  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import Client, Feedback  # noqa: E402
from app.scoring import FACTOR_KEYS, compute_score  # noqa: E402
from app.services.keys import LeadKeys  # noqa: E402
from app.services.learning.clients import create_client  # noqa: E402
from app.services.learning.feedback import LocalFeedback  # noqa: E402
from app.services.learning.profiles import update_stated_profile  # noqa: E402
from app.services.learning.weights import current_weights, refit_clients  # noqa: E402
from app.services.scoring.configs import ClientConfigCache, LocalConfigSource  # noqa: E402
from app.services.scoring.leads import LeadScoring  # noqa: E402
from app.services.scoring.recorder import ScoreRecorder  # noqa: E402

PROFILE = {"industry": "Computer Software", "company_size": "11-50", "country": "US"}
TRUE = np.array([0.04, 0.05, 0.03, 0.15, 0.04, 0.24, 0.30, 0.05, 0.05, 0.05])
TARGET = FACTOR_KEYS.index("has_company_match")
DAYS = 90
MAX_L1, MAX_SCORE_MOVE = 0.05, 3  # the bounds for k <= 2


class Clock:
    """The time the database stamps on new clients and outcomes."""

    def __init__(self, start: datetime) -> None:
        self.now = start


class NoTasks:
    """Refits run explicitly here, not from a queue."""

    def enqueue(self, name: str, **kwargs: object) -> bool:
        return True


def stamp_with(sessions, clock: Clock) -> None:
    """Injected clock: new Client and Feedback rows get `clock.now`."""

    def before_flush(session, _context, _instances) -> None:
        for row in session.new:
            if isinstance(row, Client | Feedback):
                row.created_at = clock.now

    event.listen(sessions, "before_flush", before_flush)


def honest_outcomes(rng, n: int) -> list[tuple[list[float], str]]:
    x = rng.random((n, len(TRUE)))
    z = x @ TRUE
    won = rng.random(n) < 1 / (1 + np.exp(-(15 * (z - z.mean()) - 1.3)))
    return [(list(x[i]), "converted" if won[i] else "ignored") for i in range(n)]


def invented_outcomes(rng, n: int) -> list[tuple[list[float], str]]:
    x = rng.random((n, len(TRUE)))
    x[:, TARGET] = rng.random(n) < 0.5
    return [(list(v), "converted" if v[TARGET] else "ignored") for v in x]


class World:
    """One SQLite database with the real services and a clock 90 days back."""

    def __init__(self, url: str) -> None:
        self.engine = engine = make_engine(url)
        upgrade(engine)
        self.sessions = make_session_factory(engine)
        self.clock = Clock(datetime.now(UTC) - timedelta(days=DAYS))
        stamp_with(self.sessions, self.clock)
        keys = LeadKeys("poisoning-benchmark")
        self.recorder = ScoreRecorder(self.sessions, keys)
        configs = ClientConfigCache(LocalConfigSource(self.sessions), 0)
        self.scoring = LeadScoring(configs, self.recorder)
        self.feedback = LocalFeedback(self.sessions, NoTasks())

    def close(self) -> None:
        """Close the database's connections."""
        self.engine.dispose()

    def client(self, name: str) -> tuple[str, str]:
        issued = create_client(self.sessions, f"{name}@{name}-corp.com")
        with self.sessions.begin() as session:
            update_stated_profile(session.get(Client, issued.client_id), PROFILE)
        return issued.client_id, issued.api_key

    def report(self, name: str, outcomes, burst: bool = False) -> str:
        """Register, score leads as POST /leads does, then send outcomes day by
        day (all on day one with `burst`); returns the client id."""
        client_id, api_key = self.client(name)
        config = self.scoring.authenticate(api_key, client_id)
        now = self.clock.now.timestamp()
        leads = [{"email": f"lead{i}@{name}-buyer.com"} for i in range(20)]
        self.scoring.remember(config, self.scoring.score_batch(config, leads, now), now)
        self.recorder.flush()
        start = self.clock.now
        for i, (values, action) in enumerate(outcomes):
            day = 0 if burst else i * DAYS // len(outcomes)
            self.clock.now = start + timedelta(days=day, seconds=i)
            self.feedback.record_outcome(client_id, f"{name}-{i}", action, values)
        self.clock.now = start
        return client_id

    def weights(self, client_id: str) -> tuple[np.ndarray, str]:
        with self.sessions() as session:
            served = current_weights(session, session.get(Client, client_id))
        return np.array([served.weights[k] for k in FACTOR_KEYS]), served.method


def simulate(
    url: str, honest: int = 300, attack: int = 1000, max_k: int = 5, burst=False
) -> list[dict]:
    """Rows per k: the newcomer's weights and their move from k = 0."""
    world = World(url)
    try:
        return _attack(world, honest, attack, max_k, burst)
    finally:
        world.close()


def _attack(world: World, honest: int, attack: int, max_k: int, burst) -> list[dict]:
    rng = np.random.default_rng(7)
    peers = [world.report(f"honest{i}", honest_outcomes(rng, honest)) for i in range(6)]
    refit_clients(world.sessions, peers)
    newcomer, _ = world.client("newcomer")
    reference = np.random.default_rng(11).random((500, len(TRUE)))
    rows, baseline = [], None
    for k in range(max_k + 1):
        if k:
            invented = invented_outcomes(np.random.default_rng(100 + k), attack)
            attacker = world.report(f"attacker{k}", invented, burst)
            refit_clients(world.sessions, [attacker])
        refit_clients(world.sessions, [newcomer])
        weights, method = world.weights(newcomer)
        scores = np.array([compute_score(v, weights) for v in reference])
        if baseline is None:
            baseline = (weights, scores)
        rows.append(
            {
                "k": k,
                "method": method,
                "target_weight": float(weights[TARGET]),
                "l1": float(np.abs(weights - baseline[0]).sum()),
                "score_move": int(np.abs(scores - baseline[1]).max()),
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true")
    parser.add_argument("--honest", type=int, default=300)
    parser.add_argument("--attack", type=int, default=1000)
    parser.add_argument("--max-k", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/poisoning.db"
        rows = simulate(url, args.honest, args.attack, args.max_k, args.burst)
    print("attackers | method          | has_company_match | L1 move | max score move")
    failed = False
    for row in rows:
        bad = row["k"] <= 2 and (
            row["l1"] > MAX_L1 or row["score_move"] > MAX_SCORE_MOVE
        )
        # the newcomer must be served the honest peers' pooled weights to begin with
        bad |= row["k"] == 0 and row["method"] != "similar_clients"
        failed |= bad
        print(
            f"{row['k']:>9} | {row['method']:<15} | {row['target_weight']:>17.3f} | "
            f"{row['l1']:>7.3f} | "
            f"{row['score_move']:>14}{'  FAIL' if bad else ''}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
