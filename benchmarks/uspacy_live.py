"""New lead → score latency of the Uspacy app in the processes production runs.

A gunicorn web process takes the Uspacy emulation's webhooks and a `conturs
worker` process scores (SQLite by default; PostgreSQL with Redis for jobs and
rate limits when given). The emulation, in this process, installs the app on
`--portals` portals and then a salesperson creates leads at a steady pace,
spread round-robin over the portals; a lead's latency runs from its creation
(the emulation delivers its webhook at once) to the moment the app's write of
its score lands in Uspacy (the emulation's record updated by the app's user).
Each is split into delivery (creation → the inbox row, its received_at) and
work (inbox → write).

Uspacy allows a portal 60 calls a minute and a new lead costs the app two (read
it, write its score), so the pace per portal stays what a sales team types:
the default 2 leads/s over 10 portals is 12 a minute each.

Prints p50/p95/max; exits 1 when p95 reaches --max-p95 (5 s), a lead is never
scored, or a lead or contact ends with a score its fields do not give.

    python benchmarks/uspacy_live.py [--leads 200] [--rate 2] [--portals 10]
        [--database-url URL --redis-url URL]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from app.container import services_of  # noqa: E402
from app.models import CrmEvent  # noqa: E402
from benchmarks.uspacy_processes import (  # noqa: E402
    LiveUspacy,
    live_uspacy,
    wait_for,
    wrong_records,
)

AFTER_LAST_LEAD_SECONDS = 60
TITLES = ["CEO", "Founder", "Sales Director", "Head of Growth", "Engineer", ""]
Lead = tuple[str, int]  # (portal domain, lead id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200)
    parser.add_argument("--rate", type=float, default=2.0, help="leads per second")
    parser.add_argument("--portals", type=int, default=10)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument("--max-p95", type=float, default=5.0)
    args = parser.parse_args()
    if args.rate / args.portals > 0.4:
        parser.error("over 24 leads a minute per portal: Uspacy's limit is 60 calls")
    with tempfile.TemporaryDirectory() as workdir:
        with live_uspacy(Path(workdir), args.database_url, args.redis_url) as live:
            return run(live, args)


def run(live: LiveUspacy, args: argparse.Namespace) -> int:
    domains = [f"portal{number}.uspacy.ua" for number in range(args.portals)]
    started = time.perf_counter()
    pks = {domain: live.install(domain) for domain in domains}
    if not wait_for(lambda: _confirmed(live, domains), 30):
        print("FAILED: a portal's webhook was not confirmed")
        return 1
    print(f"{len(domains)} portals installed in {time.perf_counter() - started:.1f} s")

    rng = random.Random(7)
    created: dict[Lead, float] = {}  # lead -> when it was created (epoch s)
    first = time.monotonic()
    for number in range(args.leads):
        time.sleep(max(0.0, first + number / args.rate - time.monotonic()))
        domain = domains[number % len(domains)]
        at = time.time()
        record = live.uspacy.act_create(
            domain,
            "leads",
            first_name=f"Lead{number}",
            last_name="Koval",
            position=rng.choice(TITLES),
            company_name=rng.choice(["Acme", "Beta", ""]),
            email=[{"value": f"lead{number}@{domain}", "type": "work"}],
        )
        created[(domain, record["id"])] = at
    pace = args.leads / (time.monotonic() - first)
    wait_for(
        lambda: len(_landed(live, created)) == len(created), AFTER_LAST_LEAD_SECONDS
    )

    landed = _landed(live, created)
    received = _received(live, pks, created)
    latencies = sorted(landed[lead] - created[lead] for lead in landed)
    delivery = sorted(received[lead] - created[lead] for lead in received)
    work = sorted(landed[lead] - received[lead] for lead in landed if lead in received)
    missing = sorted(set(created) - set(landed))
    wrong = {d: w for d, pk in pks.items() if (w := wrong_records(live, pk))}
    calls = [live.status(domain)["api_calls"] for domain in domains]
    database = "SQLite" if not args.database_url else args.database_url.split(":")[0]
    backend = f"{database} + Redis" if args.redis_url else database
    print(
        f"{backend}: {args.leads} leads at {pace:.2f}/s over {len(domains)} portals; "
        f"app calls {sum(c['attempts'] for c in calls)}, "
        f"not ok {sum(c['not_ok'] for c in calls)}"
    )
    for name, values in (
        ("lead → score", latencies),
        ("  delivery", delivery),
        ("  worker", work),
    ):
        print(f"{name:>14}: {_figures(values)}")
    print(f"never scored: {len(missing)}; portals with wrong scores: {len(wrong)}")
    p95 = _percentile(latencies, 0.95) if latencies else float("inf")
    ok = p95 < args.max_p95 and not missing and not wrong
    print("OK" if ok else f"FAILED (p95 limit {args.max_p95} s)")
    return 0 if ok else 1


def _confirmed(live: LiveUspacy, domains: list[str]) -> bool:
    return all(live.status(d)["webhook_status"] == "confirmed" for d in domains)


def _landed(live: LiveUspacy, created: dict[Lead, float]) -> dict[Lead, float]:
    """When the app's first score write to each new lead landed in Uspacy."""
    landed: dict[Lead, float] = {}
    for at, domain, kind, record_id, shown in live.writes.since():
        lead = (domain, record_id)
        if kind == "leads" and lead in created and shown.get("score") is not None:
            landed.setdefault(lead, at)
    return landed


def _received(
    live: LiveUspacy, pks: dict[str, int], created: dict[Lead, float]
) -> dict[Lead, float]:
    """When the web process stored each new lead's first event."""
    domain_of = {pk: domain for domain, pk in pks.items()}
    with services_of(live.app).sessions() as session:
        rows = session.execute(
            select(CrmEvent.account_pk, CrmEvent.object_id, CrmEvent.received_at)
            .where(CrmEvent.object_type == "leads")
            .order_by(CrmEvent.received_at)
        ).all()
    received: dict[Lead, float] = {}
    for account_pk, object_id, at in rows:
        lead = (domain_of.get(account_pk, ""), int(object_id or 0))
        if lead in created:
            moment = at if at.tzinfo else at.replace(tzinfo=UTC)
            received.setdefault(lead, moment.timestamp())
    return received


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
