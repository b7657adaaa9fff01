"""A burst of contact changes in a HubSpot portal, delivered as HubSpot delivers
them (signed webhooks, duplicates and out-of-order delivery on) to the app served
over real HTTP, then applied by the worker's drain.

Installs the app on a seeded portal (its backfill scores every contact first),
subscribes to contact property changes, changes --changed contacts at once
(half get a new job title, which the explanation names; half a new first name,
which moves nothing the salesperson sees), waits for HubSpot's
deliveries, drains the inbox and checks: every event settled, every moved score
written, no write for a contact whose score did not move, and CRM calls per
changed contact within --max-calls (0.03). Prints the figures; exits 1 on a miss.

    python benchmarks/hubspot_burst.py [--contacts 3000] [--changed 1000]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import requests  # noqa: E402
from leads_throughput import free_port  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.container import services_of  # noqa: E402
from app.crypto import generate_key  # noqa: E402
from app.migrations import upgrade  # noqa: E402
from app.models import CrmAccount, CrmEvent  # noqa: E402
from app.sandbox import HubSpotSandbox  # noqa: E402
from app.sandbox.hubspot.appconfig import AppConfig  # noqa: E402
from app.sandbox.server import ServerThread  # noqa: E402

HUB = 48200002
CLIENT_ID, CLIENT_SECRET, APP_ID = (
    "conturs-burst-client",
    "conturs-burst-secret",
    4242001,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=3000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--max-calls", type=float, default=0.03)
    args = parser.parse_args()
    port = free_port()
    base = f"http://localhost:{port}"
    hubspot = HubSpotSandbox(
        app_config=AppConfig(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            app_id=APP_ID,
            redirect_urls=[f"{base}/hubspot/oauth/callback"],
        )
    )
    hubspot.start()
    with tempfile.TemporaryDirectory() as workdir:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{workdir}/bench.db",
                "INSTANCE_PATH": f"{workdir}/instance",
                "TOKEN_ENCRYPTION_KEYS": [generate_key()],
                "PUBLIC_BASE_URL": base,
                "HUBSPOT_CLIENT_ID": CLIENT_ID,
                "HUBSPOT_CLIENT_SECRET": CLIENT_SECRET,
                "HUBSPOT_APP_ID": str(APP_ID),
                "HUBSPOT_API_BASE_URL": hubspot.base_url,
                "HUBSPOT_AUTHORIZE_URL": f"{hubspot.base_url}/oauth/authorize",
            }
        )
        services = services_of(app)
        upgrade(services.engine)
        server = ServerThread(app, port=port).start()
        try:
            return run(args, app, hubspot, base)
        finally:
            server.stop()
            services.engine.dispose()
            hubspot.stop()


def run(args: argparse.Namespace, app, hubspot: HubSpotSandbox, base: str) -> int:
    services = services_of(app)
    hubspot.create_account(HUB)
    hubspot.seed(HUB, contacts=args.contacts, deals=0)
    install(base, hubspot)
    with services.sessions() as session:
        account_pk = session.scalars(select(CrmAccount.id)).one()
    while not services.hubspot.backfill(account_pk, pages=50):
        pass
    hubspot.configure_webhooks(
        f"{base}/hubspot/webhooks",
        [
            {"subscriptionType": "contact.propertyChange", "propertyName": name}
            for name in ("jobtitle", "firstname")
        ],
        duplicates=0.2,
        out_of_order=True,
    )
    ids = list(hubspot_ids(hubspot))[: args.changed]
    moved, unmoved = [], []
    for index, contact_id in enumerate(ids):
        now = hubspot.get_object(HUB, "contacts", contact_id)["properties"]
        if index % 2 == 0:  # a new job title: the explanation names it, so it moves
            title = "VP Sales" if now.get("jobtitle") != "VP Sales" else "Founder"
            hubspot.act.update_contact(HUB, contact_id, jobtitle=title)
            moved.append(contact_id)
        elif now.get("firstname"):  # another first name: nothing shown moves
            hubspot.act.update_contact(
                HUB, contact_id, firstname=now["firstname"] + "a"
            )
            unmoved.append(contact_id)
    started = time.perf_counter()
    hubspot.webhooks.wait_idle(timeout=300)
    delivered = time.perf_counter() - started
    calls_before = sum(hubspot.calls(HUB).values())
    writes_before = len(hubspot.writes(HUB))
    started = time.perf_counter()
    while services.hubspot.sync(account_pk).events:
        pass
    drained = time.perf_counter() - started
    calls = sum(hubspot.calls(HUB).values()) - calls_before
    writes = hubspot.writes(HUB)[writes_before:]
    with services.sessions() as session:
        states = dict(
            session.execute(
                select(CrmEvent.status, func.count()).group_by(CrmEvent.status)
            ).all()
        )
    written_ids = {w["objectId"] for w in writes}
    per_contact = calls / len(ids)
    print(
        f"{len(moved) + len(unmoved)} contacts changed ({len(moved)} with a moving "
        f"score, {len(unmoved)} without); events "
        f"{states}; deliveries settled in {delivered:.1f} s, drained in "
        f"{drained:.1f} s; {calls} CRM calls ({per_contact:.3f} per contact, limit "
        f"{args.max_calls}); {len(writes)} contacts written"
    )
    ok = (
        set(states) == {"done"}
        and per_contact <= args.max_calls
        and written_ids == set(moved)  # every moved score, and nothing else
        and not written_ids & set(unmoved)
    )
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def hubspot_ids(hubspot: HubSpotSandbox):
    token = hubspot.mint_tokens(HUB)["access_token"]
    after = None
    while True:
        page = requests.get(
            f"{hubspot.base_url}/crm/v3/objects/contacts",
            params={"limit": 100, **({"after": after} if after else {})},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        ).json()
        yield from (c["id"] for c in page["results"])
        after = page.get("paging", {}).get("next", {}).get("after")
        if not after:
            return


def install(base: str, hubspot: HubSpotSandbox) -> None:
    with requests.Session() as browser:
        start = browser.get(f"{base}/hubspot/install", allow_redirects=False)
        authorize = start.headers["Location"]
        redirect = hubspot.approve(authorize, HUB, "ops@burst.example")
        landed = browser.get(redirect, allow_redirects=False)
        if landed.status_code != 302:
            raise RuntimeError(f"install failed: {landed.status_code}")


if __name__ == "__main__":
    sys.exit(main())
