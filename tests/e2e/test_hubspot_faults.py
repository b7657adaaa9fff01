"""HubSpot sync under faults and worker crashes, in the processes production runs:
a gunicorn web process taking HubSpot's signed webhooks (duplicates and shuffled
order on) and a `conturs worker` process draining the inbox, while HubSpot fails
about a fifth of the app's calls (502s, 429s, hung calls) and the worker is
SIGKILLed twice. At the end every contact holds the score its properties give,
every inbox row is settled, and no write repeats the one before it."""

import os
import random
import time
from pathlib import Path
from urllib.parse import urlsplit

from app.sandbox.hubspot import options
from app.services.crm.event_claims import CLAIM
from benchmarks.hubspot_live import (
    CONTACT_SUBSCRIPTIONS,
    HUB,
    LiveApp,
    contact_ids,
    live_app,
    properties,
    repeated_writes,
    wait_for,
    wrong_contacts,
)

CONTACTS = 150
EDITS = 300
EDIT_PAUSE = 0.05
# A few contacts take half of the edits, so one contact's changes follow
# each other within a drain's read and write (where races would show).
HOT_CONTACTS = 5
HOT_SHARE = 0.5
# Faults: 502s at random, and bursts of 429s and hung calls re-armed at each crash.
ERROR_RATE = 0.17
FORCED_429 = 3
HUNG_CALLS = 3
HANG_SECONDS = 1.0
# Events a killed worker had claimed wait out the claim, then the next sweep
# (every minute) takes them again.
SETTLE_SECONDS = CLAIM.total_seconds() + 60 + 30
TITLES = ["CEO", "Founder", "VP Sales", "Head of Growth", "Engineer", "Analyst", ""]
STATUSES = [*options.LEAD_STATUSES, ""]
INDUSTRIES = [label for _, label in options.INDUSTRIES[:6]] + [""]


def test_every_contact_ends_right_after_faults_and_two_worker_crashes(
    database_url: str, tmp_path: Path
) -> None:
    with live_app(tmp_path, database_url, _redis_url(database_url)) as live:
        hubspot = live.hubspot
        hubspot.create_account(HUB)
        hubspot.seed(HUB, contacts=CONTACTS, deals=0)
        account_pk = live.install()
        assert wait_for(lambda: _all_scored(live), 60), "the backfill did not finish"
        hubspot.configure_webhooks(
            f"{live.base_url}/hubspot/webhooks",
            CONTACT_SUBSCRIPTIONS,
            duplicates=0.2,
            out_of_order=True,
        )
        _arm_faults(live)

        rng = random.Random(20261207)
        ids = contact_ids(hubspot)
        edits_from = len(hubspot.writes(HUB))
        for number in range(1, EDITS + 1):
            _edit(live, rng, ids)
            if number in (EDITS // 3, 2 * EDITS // 3):
                live.kill_worker()  # mid-run: the worker is draining by now
                _arm_faults(live)
                live.start_worker()
            time.sleep(EDIT_PAUSE)
        assert hubspot.webhooks.wait_idle(timeout=30, include_retries=False)
        hubspot.faults(HUB, error_rate=0.0, force_429=0, timeouts=0)

        def settled() -> bool:
            inbox = live.inbox(account_pk)
            return set(inbox) == {"done"} and not wrong_contacts(live, account_pk)

        finished = wait_for(settled, SETTLE_SECONDS, step=1.0)
        inbox = live.inbox(account_pk)
        wrong = wrong_contacts(live, account_pk)
        calls = live.status()["api_calls"]
        refused = [d for d in hubspot.deliveries() if d.get("status") != 200]
        worker_output = live.worker_output()

    assert finished, (inbox, dict(list(wrong.items())[:3]), worker_output)
    assert set(inbox) == {"done"} and inbox["done"] >= EDITS // 2
    assert wrong == {}
    assert repeated_writes(hubspot, edits_from) == []
    # The faults were real: a good share of the app's calls failed.
    assert calls["not_ok"] >= 0.1 * calls["attempts"], calls
    # Every delivery was taken at once: none waits for HubSpot's retry.
    assert refused == []


def _redis_url(database_url: str) -> str | None:
    """PostgreSQL runs with Redis for jobs and rate limits, in a database of its
    own so this worker takes no other test's jobs."""
    redis = os.environ.get("TEST_REDIS_URL")
    if not redis or database_url.startswith("sqlite"):
        return None
    url = urlsplit(redis)
    own = (int(url.path.strip("/") or 0) - 1) % 16
    return url._replace(path=f"/{own}").geturl()


def _all_scored(live: LiveApp) -> bool:
    return all(
        properties(live.hubspot, contact_id).get("conturs_score")
        for contact_id in contact_ids(live.hubspot)
    )


def _arm_faults(live: LiveApp) -> None:
    live.hubspot.faults(
        HUB,
        error_rate=ERROR_RATE,
        force_429=FORCED_429,
        timeouts=HUNG_CALLS,
        timeout_seconds=HANG_SECONDS,
    )


def _edit(live: LiveApp, rng: random.Random, ids: list[str]) -> None:
    """One change a HubSpot user (or a contact's activity) makes."""
    hot = rng.random() < HOT_SHARE
    act, contact_id = live.hubspot.act, rng.choice(ids[:HOT_CONTACTS] if hot else ids)
    kind = rng.randrange(9)
    if kind == 0:
        act.update_contact(HUB, contact_id, jobtitle=rng.choice(TITLES))
    elif kind in (1, 2):
        act.update_contact(HUB, contact_id, hs_lead_status=rng.choice(STATUSES))
    elif kind == 3:
        act.update_contact(HUB, contact_id, phone=rng.choice(["+1 555 0100", ""]))
    elif kind == 4:
        act.update_contact(HUB, contact_id, industry=rng.choice(INDUSTRIES))
    elif kind == 5:  # nothing a salesperson sees moves
        act.update_contact(HUB, contact_id, firstname=rng.choice(["Ann", "Bo"]))
    elif kind == 6:
        act.open_email(HUB, contact_id, clicked=rng.random() < 0.5)
    elif kind == 7:
        act.log_activity(HUB, contact_id)
    elif rng.random() < 0.25:
        ids.append(
            act.create_contact(
                HUB,
                email=f"new{len(ids)}@orbit-freight.example",
                firstname="Nia",
                jobtitle=rng.choice(TITLES),
                hs_lead_status=rng.choice(options.LEAD_STATUSES),
            )
        )
    else:
        act.update_contact(HUB, contact_id, company=rng.choice(["Globex", ""]))
