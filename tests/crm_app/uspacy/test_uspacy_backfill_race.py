"""Runs of one portal's walk that overlap (a sweep re-queues the backfill while
a slow run is still on its page): a run queued while another holds the walk
ends at once, one whose holder died takes the walk over when the lease runs
out, and two that do score the same new records at once both succeed."""

import threading
from datetime import timedelta

from sqlalchemy import event, update

from app.container import services_of
from app.models.base import utcnow
from app.models.sync import CrmSync
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    field_scores,
    people,
    stored_scores,
    unthrottled,
)


def _lease_until(served: ServedUspacy, pk: int, until) -> None:  # noqa: ANN001
    with services_of(served.app).sessions.begin() as session:
        session.execute(
            update(CrmSync)
            .where(CrmSync.account_pk == pk)
            .values(walk_lease_until=until)
        )


def _installed(served: ServedUspacy) -> int:
    unthrottled(served, DOMAIN)
    people(served, DOMAIN, 4)
    pk = served.install(DOMAIN)
    assert served.sandbox.webhooks.wait_idle(10)
    return pk


def _walk_to_the_end(served: ServedUspacy, pk: int) -> None:
    for _ in range(50):
        if served.uspacy.backfill(pk, pages=10):
            return
    raise AssertionError("the backfill did not finish")


def test_a_run_queued_while_another_walks_ends_at_once(served: ServedUspacy) -> None:
    pk = _installed(served)
    _lease_until(served, pk, utcnow() + timedelta(minutes=1))  # a run is on it
    before = served.sandbox.calls(DOMAIN)
    assert served.uspacy.backfill(pk) is True
    assert served.sandbox.calls(DOMAIN) == before  # no page read, no write
    assert set(field_scores(served, DOMAIN).values()) == {None}  # nothing scored

    # That run died: once its lease runs out, the next run takes the walk over.
    _lease_until(served, pk, utcnow() - timedelta(seconds=1))
    _walk_to_the_end(served, pk)
    scores = field_scores(served, DOMAIN)
    assert len(scores) == 8 and all(isinstance(s, int) for s in scores.values())


def test_a_run_taking_over_the_same_new_records_fails_neither(
    served: ServedUspacy,
) -> None:
    pk = _installed(served)
    first_walk = threading.get_ident()
    other_walk: list[bool] = []

    def other_walk_first(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        # The moment the first walk goes to store the page's new records, its
        # lease has run out (a slow page) and a second run walks the same page
        # to its end.
        if (
            threading.get_ident() == first_walk
            and not other_walk
            and statement.lstrip().upper().startswith("INSERT INTO CRM_RECORDS")
        ):
            other_walk.append(False)
            _lease_until(served, pk, None)
            racer = threading.Thread(
                target=lambda: other_walk.append(served.uspacy.backfill(pk))
            )
            racer.start()
            racer.join(60)

    engine = services_of(served.app).engine
    event.listen(engine, "before_cursor_execute", other_walk_first)
    try:
        _walk_to_the_end(served, pk)
    finally:
        event.remove(engine, "before_cursor_execute", other_walk_first)
    assert other_walk == [False, True]

    scores = field_scores(served, DOMAIN)
    assert len(scores) == 8 and all(isinstance(s, int) for s in scores.values())
    assert stored_scores(served, pk) == scores
