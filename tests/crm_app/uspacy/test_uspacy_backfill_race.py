"""Two walks of one portal at once (a sweep re-queues a backfill while a slow
run still holds its page): both score the same new records, and neither fails
on the rows the other stored first."""

import threading

from sqlalchemy import event

from app.container import services_of
from tests.crm_app.uspacy.conftest import DOMAIN, ServedUspacy
from tests.crm_app.uspacy.events_helpers import (
    field_scores,
    people,
    stored_scores,
    unthrottled,
)


def test_a_second_backfill_storing_the_same_records_first_fails_neither(
    served: ServedUspacy,
) -> None:
    unthrottled(served, DOMAIN)
    people(served, DOMAIN, 4)
    pk = served.install(DOMAIN)
    assert served.sandbox.webhooks.wait_idle(10)

    first_walk = threading.get_ident()
    other_walk: list[bool] = []

    def other_walk_first(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        # The moment the first walk goes to store the page's new records, a
        # second walk scores and stores the same page to its end.
        if (
            threading.get_ident() == first_walk
            and not other_walk
            and statement.lstrip().upper().startswith("INSERT INTO CRM_RECORDS")
        ):
            other_walk.append(False)
            racer = threading.Thread(
                target=lambda: other_walk.append(served.uspacy.backfill(pk))
            )
            racer.start()
            racer.join(60)

    engine = services_of(served.app).engine
    event.listen(engine, "before_cursor_execute", other_walk_first)
    try:
        for _ in range(50):
            if served.uspacy.backfill(pk, pages=10):
                break
    finally:
        event.remove(engine, "before_cursor_execute", other_walk_first)
    assert other_walk == [False, True]

    scores = field_scores(served, DOMAIN)
    assert len(scores) == 8 and all(isinstance(s, int) for s in scores.values())
    assert stored_scores(served, pk) == scores
