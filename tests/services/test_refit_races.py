"""Publishing weight versions under real concurrency: the worker's refit, `conturs
weights refit` and a profile change (publish_prior) of one client running at once
all read the same latest version and want the next number. None of them may fail;
the loser of the unique (client, version) takes the next free number, or publishes
nothing when the winner already serves the same weights."""

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from app.container import services_of
from app.models import Client, WeightVersion
from app.services.learning import weights as weights_module
from app.services.learning.clients import IssuedClient
from app.services.learning.profiles import update_stated_profile
from app.services.learning.weights import publish_prior, refit_clients

ROUNDS = 24
INDUSTRIES = ("Retail", "Computer Software")  # two different industry priors


def _run_together(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Start every job at the same moment; return what they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as error:  # collected for the assertion
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def _state_industry(sessions, client_id: str, industry: str) -> None:
    with sessions.begin() as session:
        update_stated_profile(session.get(Client, client_id), {"industry": industry})


def _race(app, client_id: str) -> tuple[list[BaseException], int]:
    """ROUNDS rounds of two refits and two profile publishes of one client at once;
    returns what they raised and how often the unique constraint refused a
    version number (proof that the publishers really collided)."""
    sessions = services_of(app).sessions
    collisions = 0

    def count(context) -> None:
        nonlocal collisions
        if isinstance(context.sqlalchemy_exception, IntegrityError):
            collisions += 1

    def publish() -> None:
        with sessions.begin() as session:
            publish_prior(session, session.get(Client, client_id))

    def refit() -> None:
        refit_clients(sessions, [client_id])

    engine = services_of(app).engine
    event.listen(engine, "handle_error", count)
    errors: list[BaseException] = []
    try:
        for round_number in range(ROUNDS):
            industry = INDUSTRIES[round_number % 2]
            _state_industry(sessions, client_id, industry)
            errors += _run_together([refit, refit, publish, publish])
    finally:
        event.remove(engine, "handle_error", count)
    return errors, collisions


def _versions(app, client_id: str) -> list[WeightVersion]:
    with services_of(app).sessions() as session:
        return list(
            session.scalars(
                select(WeightVersion)
                .where(WeightVersion.client_id == client_id)
                .order_by(WeightVersion.version)
            )
        )


def test_concurrent_refits_and_priors_of_one_client_never_fail(
    app, scoring_client: IssuedClient
) -> None:
    client_id = scoring_client.client_id
    errors, collisions = _race(app, client_id)
    assert errors == []
    assert collisions > 0, "the publishers never collided: the race was not run"
    versions = _versions(app, client_id)
    numbers = [v.version for v in versions]
    assert numbers == list(range(1, len(numbers) + 1))
    # Every round changed the industry, so every round published exactly once:
    # a loser that finds the winner's identical weights publishes nothing.
    assert len(versions) == ROUNDS
    methods = {v.method for v in versions}
    assert methods == {"industry_prior"}
    for earlier, later in zip(versions, versions[1:], strict=False):
        assert earlier.weights != later.weights


def test_without_retries_the_same_race_fails(
    app, scoring_client: IssuedClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race above is real: with a single attempt, publishers that lose it fail."""
    monkeypatch.setattr(weights_module, "_PUBLISH_ATTEMPTS", 1)
    errors, collisions = _race(app, scoring_client.client_id)
    assert collisions > 0
    assert errors and all(isinstance(e, RuntimeError) for e in errors)
