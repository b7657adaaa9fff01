"""The product's own learning path, driven by the learning benchmark.

Outcomes are stored as feedback rows in a real (throwaway) SQLite database built
by the product's migrations, and weights are learned only by
`app.services.learning.weights.refit_clients` — the job the product queues on
every REFIT_AFTER_NEW_FEEDBACK-th outcome of a client (`refit_due`). The
benchmark has no refit loop of its own: it adds outcomes in steps of that size
and runs the product's job after each step, exactly as the feedback service
does with jobs run inline. What is served is read back as scoring reads it
(`config_of`: weights, value tables, label bands).
"""

import tempfile
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from app.db import make_engine
from app.migrations import upgrade
from app.models import Client, Feedback, WeightVersion
from app.personalization.outcomes import Sample
from app.services.learning.profiles import update_stated_profile
from app.services.learning.weights import REFIT_AFTER_NEW_FEEDBACK, refit_clients
from app.services.scoring.configs import ClientConfig, config_of

ACTIONS_BY_REWARD = {1.0: "converted", 0.5: "replied", 0.3: "clicked", -0.5: "ignored"}
ACTIONS_BY_REWARD[-1.0] = "bounced"


class ProductLearning:
    """One world's clients and outcomes in a database the product learns from."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="learning-bench-")
        self.engine = make_engine(f"sqlite:///{Path(self._dir.name) / 'world.db'}")
        upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()
        self._dir.cleanup()

    def add_client(
        self, client_id: str, vertical: str, size: tuple[int, int], country: str
    ) -> None:
        """Register a client with the profile it states (industry, size, country)."""
        with self.sessions.begin() as session:
            client = Client(id=client_id, email=f"owner@{client_id}.example")
            session.add(client)
            update_stated_profile(
                client,
                {
                    "industry": vertical,
                    "company_size": f"{size[0]}-{size[1]}",
                    "country": country,
                },
            )

    def learn(self, client_id: str, samples: Sequence[Sample]) -> None:
        """Add outcomes in the product's refit steps, running its refit after each."""
        step = REFIT_AFTER_NEW_FEEDBACK
        for start in range(0, len(samples), step):
            self._store(client_id, samples[start : start + step])
            self.refit(client_id)

    def refit(self, client_id: str) -> None:
        refit_clients(self.sessions, [client_id])

    def served(self, client_id: str) -> ClientConfig:
        """What the client's leads are scored with now: weights, value tables,
        label bands and method, as the scoring service reads them."""
        with self.sessions() as session:
            return config_of(session, session.get(Client, client_id))

    def forget(self, client_id: str) -> None:
        """Remove a client's outcomes and versions (targets do not teach targets)."""
        with self.sessions.begin() as session:
            session.execute(delete(Feedback).where(Feedback.client_id == client_id))
            session.execute(
                delete(WeightVersion).where(WeightVersion.client_id == client_id)
            )
            session.execute(delete(Client).where(Client.id == client_id))

    def backfill(self, client_ids: Sequence[str], samples_of: dict) -> None:
        """Outcomes that arrive at once (a CRM backfill of past deals), then the
        product's scheduled refit of those clients (`refit_clients`)."""
        for client_id in client_ids:
            self._store(client_id, samples_of[client_id])
        refit_clients(self.sessions, list(client_ids))

    def _store(self, client_id: str, samples: Sequence[Sample]) -> None:
        """The outcomes as the product stores feedback rows, in one transaction."""
        with self.sessions.begin() as session:
            session.add_all(
                Feedback(
                    client_id=client_id,
                    lead_key=sample.key,
                    action=ACTIONS_BY_REWARD[sample.reward],
                    reward=sample.reward,
                    factor_values=list(sample.values),
                )
                for sample in samples
            )
