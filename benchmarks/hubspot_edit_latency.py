"""Edit → score latency of the HubSpot app in the processes production runs.

A gunicorn web process takes HubSpot's webhooks and a `conturs worker` process
scores (SQLite by default; PostgreSQL with Redis for jobs and rate limits when
given). The HubSpot sandbox, in this process, delivers webhooks as it always
does (batching, concurrency, signatures). After the install's backfill, contacts
are edited at a steady pace, each edit a new lead status (so score and
explanation move), one edit per contact; an edit's latency runs from the edit to
the moment the app's write of the new score lands in HubSpot (the sandbox's log
of the app's writes, stamped when applied). Each is split into delivery (edit →
the inbox row, its received_at) and work (inbox → write).

Prints p50/p95/max; exits 1 when p95 reaches --max-p95 (5 s), an edit is never
scored, or a contact ends with a score its properties do not give.

    python benchmarks/hubspot_edit_latency.py [--rate 5] [--duration 60]
        [--contacts 1000] [--database-url URL --redis-url URL]

--database-url / --redis-url default to $DATABASE_URL / $REDIS_URL; a PostgreSQL
database must be empty or this benchmark's own (it is migrated).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from app.container import services_of  # noqa: E402
from app.crm.hubspot.mapping import LEAD_STATUS_TABLE  # noqa: E402
from app.models import CrmEvent  # noqa: E402
from benchmarks.hubspot_live import (  # noqa: E402
    CONTACT_SUBSCRIPTIONS,
    HUB,
    LiveApp,
    contact_ids,
    live_app,
    properties,
    wait_for,
    wrong_contacts,
)

# One HubSpot status per engine status, so every change moves the score.
STATUSES = ["NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED"]
AFTER_LAST_EDIT_SECONDS = 60


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5.0, help="edits per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds")
    parser.add_argument("--contacts", type=int, default=1000)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--max-p95", type=float, default=5.0)
    args = parser.parse_args()
    edits = int(args.rate * args.duration)
    if edits > args.contacts:
        parser.error("one edit per contact: raise --contacts or lower the pace")
    with tempfile.TemporaryDirectory() as workdir:
        with live_app(
            Path(workdir), args.database_url, args.redis_url, args.web_workers
        ) as live:
            return run(live, args, edits)


def run(live: LiveApp, args: argparse.Namespace, edits: int) -> int:
    hubspot = live.hubspot
    hubspot.create_account(HUB)
    hubspot.seed(HUB, contacts=args.contacts, deals=0)
    started = time.perf_counter()
    account_pk = live.install()
    ids = contact_ids(hubspot)
    if not wait_for(lambda: _scored(live, ids), 30 + args.contacts / 50):
        print("FAILED: the backfill did not finish")
        return 1
    print(
        f"{len(ids)} contacts installed and backfilled in "
        f"{time.perf_counter() - started:.1f} s"
    )
    hubspot.configure_webhooks(
        f"{live.base_url}/hubspot/webhooks", CONTACT_SUBSCRIPTIONS
    )

    edited: dict[str, float] = {}  # contact id -> when it was edited (epoch s)
    first = time.monotonic()
    for number, contact_id in enumerate(ids[:edits]):
        time.sleep(max(0.0, first + number / args.rate - time.monotonic()))
        edited[contact_id] = time.time()
        hubspot.act.update_contact(
            HUB, contact_id, hs_lead_status=_next_status(live, contact_id)
        )
    pace = edits / (time.monotonic() - first)
    wait_for(lambda: len(_landed(live, edited)) == len(edited), AFTER_LAST_EDIT_SECONDS)

    landed = _landed(live, edited)
    received = _received(live, account_pk, edited)
    latencies = sorted(landed[c] - edited[c] for c in landed)
    delivery = sorted(received[c] - edited[c] for c in received)
    work = sorted(landed[c] - received[c] for c in landed if c in received)
    missing = sorted(set(edited) - set(landed))
    wrong = wrong_contacts(live, account_pk)
    calls = live.status()["api_calls"]
    database = "SQLite" if not args.database_url else args.database_url.split(":")[0]
    backend = f"{database} + Redis" if args.redis_url else database
    print(f"{backend}: {edits} edits at {pace:.2f}/s; app calls {calls}")
    for name, values in (
        ("edit → score", latencies),
        ("  delivery", delivery),
        ("  worker", work),
    ):
        print(f"{name:>14}: {_figures(values)}")
    print(f"never scored: {len(missing)}; wrong at the end: {len(wrong)}")
    p95 = _percentile(latencies, 0.95) if latencies else float("inf")
    ok = p95 < args.max_p95 and not missing and not wrong
    print("OK" if ok else f"FAILED (p95 limit {args.max_p95} s)")
    return 0 if ok else 1


def _next_status(live: LiveApp, contact_id: str) -> str:
    """Another status than the contact's, one the engine weighs differently."""
    now = properties(live.hubspot, contact_id).get("hs_lead_status") or ""
    engine_now = LEAD_STATUS_TABLE.get(now.upper(), now.lower())
    options = [s for s in STATUSES if LEAD_STATUS_TABLE[s] != engine_now]
    return options[int(contact_id) % len(options)]


def _scored(live: LiveApp, ids: list[str]) -> bool:
    return all(properties(live.hubspot, i).get("conturs_score") for i in ids)


def _landed(live: LiveApp, edited: dict[str, float]) -> dict[str, float]:
    """When the app's first write to each edited contact after its edit landed."""
    landed: dict[str, float] = {}
    for write in live.hubspot.writes(HUB):
        contact_id = write["objectId"]
        at = _epoch(write["at"])
        if (
            contact_id in edited
            and contact_id not in landed
            and at >= edited[contact_id]
        ):
            landed[contact_id] = at
    return landed


def _received(
    live: LiveApp, account_pk: int, edited: dict[str, float]
) -> dict[str, float]:
    """When the web process stored each edited contact's first event."""
    with services_of(live.app).sessions() as session:
        rows = session.execute(
            select(CrmEvent.object_id, CrmEvent.received_at)
            .where(CrmEvent.account_pk == account_pk)
            .order_by(CrmEvent.received_at)
        ).all()
    received: dict[str, float] = {}
    for contact_id, at in rows:
        if contact_id in edited:
            received.setdefault(contact_id, at.timestamp())
    return received


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))]


def _figures(values: list[float]) -> str:
    if not values:
        return "none"
    median, p95 = statistics.median(values), _percentile(values, 0.95)
    return (
        f"p50 {median:.2f} s, p95 {p95:.2f} s, max {values[-1]:.2f} s (n={len(values)})"
    )


if __name__ == "__main__":
    sys.exit(main())
