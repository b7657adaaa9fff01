"""Backfill of a HubSpot portal under HubSpot's real rate limit.

Seeds the HubSpot sandbox with N contacts (its 110 calls / 10 s per-portal limit
stays on), installs the app on it through the consent page, then times the
install's backfill: every contact read, scored and written back. The bound is
HubSpot's: two calls per 100 contacts (a page read, a batch write) at 10 calls/s,
N/50 calls in all; the backfill must take at most 1.2 times that and see at most
five calls refused with 429. Prints the figures; exits 1 when a bar is missed or
a contact is left without a score.

    python benchmarks/hubspot_backfill.py [--contacts 20000] [--database-url URL]
                                          [--redis-url URL]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.container import services_of  # noqa: E402
from app.crypto import generate_key  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import CrmAccount  # noqa: E402
from app.sandbox import HubSpotSandbox  # noqa: E402
from app.sandbox.hubspot.appconfig import AppConfig  # noqa: E402

HUB = 48200001
BASE = "http://localhost:8082"
CLIENT_ID, CLIENT_SECRET = "conturs-bench-client", "conturs-bench-secret"
MAX_429 = 5


def install(app, hubspot: HubSpotSandbox) -> int:
    """Click through the consent page like a browser; the account's row id."""
    web = app.test_client()
    authorize = web.get("/hubspot/install").headers["Location"]
    redirect = hubspot.approve(authorize, HUB, "ops@bench.example")
    back = urlparse(redirect)
    landed = web.get(f"{back.path}?{back.query}")
    if landed.status_code != 302:
        raise RuntimeError(f"install failed: {landed.status_code} {landed.text[:300]}")
    with services_of(app).sessions() as session:
        return session.scalars(select(CrmAccount.id)).one()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    hubspot = HubSpotSandbox(
        app_config=AppConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_urls=[f"{BASE}/hubspot/oauth/callback"],
        )
    )
    hubspot.start()
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        hubspot.create_account(HUB)
        hubspot.seed(HUB, contacts=args.contacts, deals=0)
        seeded = time.perf_counter() - started
        app = create_app(
            {
                "DATABASE_URL": args.database_url or f"sqlite:///{workdir}/bench.db",
                "REDIS_URL": args.redis_url,
                "INSTANCE_PATH": f"{workdir}/instance",
                "SECRET_KEY": "benchmark-only",
                "TOKEN_ENCRYPTION_KEYS": [generate_key()],
                "PUBLIC_BASE_URL": BASE,
                "HUBSPOT_CLIENT_ID": CLIENT_ID,
                "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
                "HUBSPOT_API_BASE_URL": hubspot.base_url,
                "HUBSPOT_AUTHORIZE_URL": f"{hubspot.base_url}/oauth/authorize",
            }
        )
        services = services_of(app)
        upgrade(services.engine)
        account_pk = install(app, hubspot)  # queues the backfill; run it here
        calls_before = sum(hubspot.calls(HUB).values())
        started = time.perf_counter()
        while not services.hubspot.backfill(account_pk, pages=50):
            pass
        seconds = time.perf_counter() - started
        calls = sum(hubspot.calls(HUB).values()) - calls_before
        status = services.hubspot.describe(str(HUB))
        services.engine.dispose()
    hubspot.stop()
    bound = args.contacts / 50 / 10  # N/50 calls at 10 calls/s
    refused = status["api_calls"]["not_ok"]  # no faults injected: 429s
    print(
        f"{args.contacts:,} contacts seeded in {seeded:.1f} s; backfill "
        f"{seconds:.1f} s for {calls} calls ({calls / args.contacts * 100:.2f} per 100 "
        f"contacts); bound {bound:.0f} s, limit {1.2 * bound:.0f} s; "
        f"contacts scored {status['contacts_scored']:,}; calls not ok {refused}"
    )
    ok = (
        seconds <= 1.2 * bound
        and refused <= MAX_429
        and status["contacts_scored"] == args.contacts
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
