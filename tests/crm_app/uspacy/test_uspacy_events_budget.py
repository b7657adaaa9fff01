"""Uspacy's limit (emulated as shipped: 60 calls a minute per portal) is kept by
the portal's budget as the app ships it, through install and a backfill that
needs more than a minute's calls. The emulation and the budget share a manual
clock, so the minute passes without being waited for."""

from collections.abc import Iterator

import pytest

from app.crm.ratelimit import RateLimiter
from app.crm.uspacy import contract
from app.crm.uspacy.config import RATES
from app.sandbox import UspacySandbox
from app.sandbox.clock import ManualClock
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    field_scores,
    installed,
    people,
    stored_scores,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Iterator[UspacySandbox]:
    """The emulation on the manual clock, its limit as shipped (60 a minute)."""
    emulation = UspacySandbox(clock=clock, retry_delays=())
    emulation.start()
    yield emulation
    emulation.stop()


def test_the_budget_keeps_install_and_backfill_under_uspacys_limit(
    served: ServedUspacy, clock: ManualClock
):
    assert RATES["api"].calls < contract.RATE_CALLS == 60
    served.uspacy._limiter = RateLimiter(RATES, clock=clock.now, sleep=clock.advance)
    people(served, DOMAIN, 30)
    started = clock.now()

    pk = installed(served, DOMAIN)

    calls = served.uspacy.describe(DOMAIN)["api_calls"]
    assert calls["attempts"] > 60 and calls["not_ok"] == 0  # no 429, no failure
    assert clock.now() - started >= 60  # so it took a second window
    scores = field_scores(served, DOMAIN)
    assert len(scores) == 60 and stored_scores(served, pk) == scores
