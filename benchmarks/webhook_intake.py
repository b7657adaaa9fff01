"""POST /hubspot/webhooks intake: events/s and latency per 100-event delivery.

Starts the service under gunicorn with the production config
(app/gunicorn_conf.py, as the Procfile runs it) on a throw-away SQLite database,
or on a fresh PostgreSQL database (created in the server `--database-url` names,
dropped afterwards) with Redis as the job queue (`--redis-url`). One portal is
installed by recording the install through the services (the same call the OAuth
callback makes after the code exchange), so no HubSpot is needed. Then 10
connections (HubSpot's concurrency per portal) send signed deliveries (HubSpot's
v3 signature, made by the HubSpot sandbox's signer), each a JSON array of
`--events` new events: property changes, creations and association changes.

Two ways to load it:
- paced (default): `--rate` events/s in all (2,000, the quality bar), the
  connections taking turns at even intervals, or all at the same moments with
  `--bursts` (10 deliveries at once, the worst case of that rate);
- back to back (`--rate 0`): every connection sends its next delivery as soon as
  the last is answered, which measures capacity; latency is then mostly waiting
  behind the other connections' deliveries.

Latency counts from the moment a delivery was due, so a late send counts
against the service. Prints events/s, requests/s, p50/p99/max ms per request,
the workers' CPU per request and the machine's load average (other processes
share the 2 cores); checks that every event sent was stored exactly once. Exits
1 below 2,000 events/s, with a failed or unstored delivery, or (paced) at a p99
of 50 ms or more.

    python benchmarks/webhook_intake.py [--seconds 10] [--rate 2000 | 0]
        [--bursts] [--connections 10] [--events 100] [--workers N]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
        [--redis-url redis://127.0.0.1:6379/14] [--json]
"""

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import orjson  # noqa: E402
from leads_throughput import free_port, serve, workers_cpu_seconds  # noqa: E402

from app.sandbox.hubspot.signing import headers as signed_headers  # noqa: E402

MIN_EVENTS_PER_S = 2_000
MAX_P99_MS = 50.0
# A paced run that falls this far behind its schedule stops sending.
GRACE_SECONDS = 2.0
HUB_ID = 61_750_233
APP_ID = 4_242_001
CLIENT_SECRET = "benchmark-client-secret"
PATH = "/hubspot/webhooks"
_PROPERTIES = ("email", "jobtitle", "lifecyclestage", "hs_email_open", "phone")


def make_body(connection: int, sequence: int, events: int) -> bytes:
    """One delivery of `events` distinct events (unique per connection and
    sequence), shaped like HubSpot's."""
    now = int(time.time() * 1000)
    batch = []
    for index in range(events):
        record = 541_935_000_000 + (connection * 10_000_000 + sequence) * 1000 + index
        event = {
            "eventId": record % 2**40,
            "subscriptionId": 1001 + index % 7,
            "portalId": HUB_ID,
            "appId": APP_ID,
            "occurredAt": now - index,
            "attemptNumber": 0,
            "changeSource": "CRM_UI",
            "sourceId": "userId:7301",
        }
        if index % 10 == 9:
            event.update(
                subscriptionType="deal.associationChange",
                associationType="DEAL_TO_CONTACT",
                fromObjectId=record,
                toObjectId=record + 1,
                associationRemoved=False,
                isPrimaryAssociation=False,
            )
        elif index % 10 == 8:
            event.update(
                subscriptionType="contact.creation",
                objectId=record,
                changeFlag="CREATED",
            )
        else:
            name = _PROPERTIES[index % len(_PROPERTIES)]
            event.update(
                subscriptionType="contact.propertyChange",
                objectId=record,
                propertyName=name,
                propertyValue=f"value {record} of {name}",
            )
        batch.append(event)
    return orjson.dumps(batch)


def _load(args: tuple) -> tuple[list[float], int, int]:
    """One connection: deliveries on schedule (every `interval` seconds from
    `start`, like every other connection, so they arrive together) or back to
    back (`interval` 0) until `deadline`. Returns the latencies (ms, from the
    scheduled moment, so a late send counts against the service) of requests
    scheduled after the warm-up, the events sent, and the failures."""
    port, connection_no, events, interval, offset, start, warm_until, deadline = args
    url = f"http://127.0.0.1:{port}{PATH}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    latencies: list[float] = []
    sent = failures = sequence = 0
    while True:
        if interval:
            scheduled = start + (sequence + offset) * interval
        else:
            scheduled = time.perf_counter()
        if scheduled >= deadline or time.perf_counter() > deadline + GRACE_SECONDS:
            break
        body = make_body(connection_no, sequence, events)
        sequence += 1
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        headers = signed_headers(
            CLIENT_SECRET, url, body.decode(), int(time.time() * 1000)
        )
        try:
            connection.request("POST", PATH, body, headers)
            response = connection.getresponse()
            answer = response.read()
        except OSError:
            failures += 1
            connection.close()
            continue
        elapsed = (time.perf_counter() - scheduled) * 1000
        if response.status != 200 or orjson.loads(answer)["stored"] != events:
            failures += 1
        if scheduled >= warm_until:
            latencies.append(elapsed)
        sent += events
    connection.close()
    return latencies, sent, failures


@contextmanager
def database(server_url: str | None, workdir: str):
    """A fresh database URL: a SQLite file, or a new PostgreSQL database."""
    if not server_url:
        yield f"sqlite:///{workdir}/bench.db"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server = make_url(server_url)
    name = f"conturs_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def install_portal(env: dict[str, str]) -> None:
    """Record the portal's install through the services, as the OAuth callback
    does after exchanging the code (tokens are placeholders: nothing calls
    HubSpot here)."""
    from app import create_app
    from app.container import services_of
    from app.crm.base import Installation, Tokens
    from app.crm.hubspot.config import REQUIRED_SCOPES
    from app.services.crm.accounts import record_install

    os.environ.update(env)
    app = create_app()
    services = services_of(app)
    now = datetime.now(UTC)
    expires = now + timedelta(minutes=30)
    tokens = Tokens(
        "bench-access", "bench-refresh", expires, frozenset(REQUIRED_SCOPES)
    )
    with services.sessions.begin() as session:
        record_install(
            session,
            "hubspot",
            Installation(str(HUB_ID), tokens, "ops@bench.example", "7301", None),
            services.secrets,
            now,
        )
    services.engine.dispose()


def stored_events(env: dict[str, str]) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM crm_events")).scalar()
    engine.dispose()
    return int(count or 0)


def flush_queue(env: dict[str, str]) -> None:
    """Drop the wake-ups the run queued (no worker ran to take them)."""
    from app.queue import make_huey

    make_huey(env, env["INSTANCE_PATH"]).flush()


def run(args: argparse.Namespace, workdir: str, database_url: str) -> dict:
    from app.crypto import generate_key

    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY="benchmark-only",
        TOKEN_ENCRYPTION_KEYS=generate_key(),
        INSTANCE_PATH=f"{workdir}/instance",
        PUBLIC_BASE_URL=f"http://127.0.0.1:{port}",
        HUBSPOT_CLIENT_ID="benchmark-client",
        HUBSPOT_CLIENT_SECRET=CLIENT_SECRET,
        HUBSPOT_APP_ID=str(APP_ID),
        REDIS_URL=args.redis_url or "",
    )
    subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        env=env,
        check=True,
        cwd=REPO,
        capture_output=True,
    )
    install_portal(env)
    server = serve(env, port, args.workers)
    try:
        load_before = os.getloadavg()
        # Requests per second per connection; 0: back to back.
        interval = args.connections * args.events / args.rate if args.rate else 0.0
        with multiprocessing.Pool(args.connections) as pool:
            start = time.perf_counter() + 0.2  # the pool's processes are ready
            warm_until = start + args.warmup
            deadline = warm_until + args.seconds
            cpu_before = workers_cpu_seconds(server.pid)
            jobs = [
                (port, n, args.events, interval, offset, start, warm_until, deadline)
                for n in range(args.connections)
                for offset in [0 if args.bursts else n / args.connections]
            ]
            results = pool.map(_load, jobs, chunksize=1)
        cpu = workers_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(10)
    latencies = sorted(ms for result in results for ms in result[0])
    sent = sum(result[1] for result in results)
    failures = sum(result[2] for result in results)
    stored = stored_events(env)
    flush_queue(env)
    measured = len(latencies)
    return {
        "backend": "postgresql+redis" if args.database_url else "sqlite",
        "connections": args.connections,
        "events_per_request": args.events,
        "seconds": args.seconds,
        "offered_events_per_s": args.rate or None,
        "arrivals": "back to back"
        if not args.rate
        else ("bursts of all connections" if args.bursts else "even"),
        "requests": measured,
        "events_per_s": round(measured * args.events / args.seconds),
        "requests_per_s": round(measured / args.seconds, 1),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(latencies[int(0.99 * (measured - 1))], 1)
        if latencies
        else None,
        "max_ms": round(latencies[-1], 1) if latencies else None,
        "failures": failures,
        "events_sent": sent,
        "events_stored": stored,
        "worker_cpu_ms_per_request": round(cpu * 1000 / max(1, sent // args.events), 2),
        "load_average_before_after": [
            round(load_before[0], 2),
            round(load_after[0], 2),
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--connections", type=int, default=10)
    parser.add_argument("--events", type=int, default=100)
    # Offered events/s over all connections; 0 sends back to back (capacity).
    parser.add_argument("--rate", type=float, default=MIN_EVENTS_PER_S)
    # Paced connections send at the same moments (bursts of 10 deliveries)
    # instead of taking turns at even intervals.
    parser.add_argument("--bursts", action="store_true")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        with database(args.database_url, workdir) as url:
            result = run(args, workdir, url)
    # Back to back, a request's latency is mostly its wait behind the other
    # connections' requests: that run measures capacity only.
    latency_ok = not args.rate or (
        result["p99_ms"] is not None and result["p99_ms"] < MAX_P99_MS
    )
    ok = (
        result["events_per_s"] >= MIN_EVENTS_PER_S
        and latency_ok
        and result["failures"] == 0
        and result["events_stored"] == result["events_sent"]
    )
    result["ok"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{result['backend']}: {result['events_per_s']:,} events/s "
            f"({result['requests_per_s']} requests/s of {args.events} events, "
            f"{args.connections} connections, {args.seconds:g} s); "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
            f"max {result['max_ms']} ms; worker CPU "
            f"{result['worker_cpu_ms_per_request']} ms/request; stored "
            f"{result['events_stored']:,} of {result['events_sent']:,} sent; "
            f"failures {result['failures']}; load average "
            f"{result['load_average_before_after'][0]} → "
            f"{result['load_average_before_after'][1]}"
        )
        print(
            "OK"
            if ok
            else f"BELOW TARGET (≥ {MIN_EVENTS_PER_S:,} events/s, p99 < "
            f"{MAX_P99_MS:g} ms, every event stored once)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
