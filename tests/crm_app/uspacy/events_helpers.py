"""Shared steps of the Uspacy event tests: portals with people on them, the app
installed and caught up, the emulation's calls counted, feedback read back.

The tests make a few hundred calls per portal in seconds, so they raise both
Uspacy's emulated limit and our budget for it by the same factor; the test of
the limit itself (test_uspacy_events_budget.py) keeps both as shipped.
"""

from typing import Any

from sqlalchemy import select

from app.container import services_of
from app.crm.ratelimit import Rate, RateLimiter
from app.crm.uspacy.config import API_BUCKET
from app.models import CrmAccount, Feedback
from app.models.outcomes import CrmContactOutcome
from app.models.sync import CrmRecord
from tests.crm_app.uspacy.conftest import ServedUspacy

LEAD_WON, LEAD_LOST = 14, 15  # the emulation's lead funnel stages
DEAL_NEW, DEAL_WON, DEAL_LOST = 21, 24, 25  # and its deal funnel's
PLENTY = 100_000
RECORD_WRITE = (
    "PATCH /crm/v1/entities/<any(leads, contacts, deals, companies):kind>"
    "/<int:record_id>"
)


def unthrottled(served: ServedUspacy, *domains: str) -> None:
    """Uspacy's limit and our budget for it, both raised far out of the way."""
    served.uspacy._limiter = RateLimiter({API_BUCKET: Rate(PLENTY, 60.0)})
    for domain in domains:
        served.sandbox.create_portal(domain)
        served.sandbox.knobs(domain, calls_per_window=PLENTY)


def people(served: ServedUspacy, domain: str, count: int) -> dict[str, list[int]]:
    """`count` leads and `count` contacts made by a salesperson (user 1)."""
    served.sandbox.create_portal(domain)
    made: dict[str, list[int]] = {"leads": [], "contacts": []}
    for index in range(count):
        for kind in made:
            record = served.sandbox.act_create(
                domain,
                kind,
                first_name=f"Olena{index}",
                last_name="Koval",
                position="CEO" if index % 2 else "Analyst",
                company_name="Acme",
                email=[{"value": f"{kind}{index}@{domain}", "type": "work"}],
                phone=[{"value": f"38066111{index:04d}", "type": "work"}]
                if index % 3
                else [],
            )
            made[kind].append(record["id"])
    return made


def installed(served: ServedUspacy, domain: str) -> int:
    """Install, let the handshake land, run the backfill to its end."""
    pk = served.install(domain)
    assert served.sandbox.webhooks.wait_idle(10)
    assert served.account(domain).webhook_status == "confirmed"
    for _ in range(50):
        if served.uspacy.backfill(pk, pages=10):
            return pk
    raise AssertionError("the backfill did not finish")


def settled(served: ServedUspacy, pk: int) -> None:
    """Every delivery in, then every due event worked off."""
    assert served.sandbox.webhooks.wait_idle(10)
    served.uspacy.settle(pk)


def writes(served: ServedUspacy, domain: str) -> int:
    """Record PATCHes the app sent to the portal so far."""
    calls = served.sandbox.calls(domain)
    return calls.get(RECORD_WRITE, 0)


def field_scores(served: ServedUspacy, domain: str) -> dict[tuple[str, str], Any]:
    """Our score field of every lead and contact, as the portal holds it."""
    codes = served.account(domain).field_codes or {}
    store = served.sandbox.store
    with store.lock:
        return {
            (kind, str(record_id)): record.get(codes[kind]["score"])
            for kind in ("leads", "contacts")
            for record_id, record in store.portals[domain].entities[kind].items()
        }


def stored_scores(served: ServedUspacy, pk: int) -> dict[tuple[str, str], Any]:
    """The scores the app remembers writing, per record."""
    with services_of(served.app).sessions() as session:
        return {
            (row.object_type, row.record_id): row.score
            for row in session.scalars(
                select(CrmRecord).where(CrmRecord.account_pk == pk)
            )
        }


def lead_key(served: ServedUspacy, domain: str, kind: str, record_id: int) -> str:
    return services_of(served.app).lead_keys.for_crm_record(
        "uspacy", domain, kind, str(record_id)
    )


def feedback(served: ServedUspacy, pk: int) -> list[tuple[str, str]]:
    """(lead key, action) of every feedback row of the portal's client."""
    with services_of(served.app).sessions() as session:
        client_id = session.get(CrmAccount, pk).client_id
        return sorted(
            session.execute(
                select(Feedback.lead_key, Feedback.action).where(
                    Feedback.client_id == client_id
                )
            )
            .tuples()
            .all()
        )


def recorded_outcomes(served: ServedUspacy, pk: int) -> dict[str, str]:
    """The ledger: contact (or `leads:<id>`) → the action its feedback says."""
    with services_of(served.app).sessions() as session:
        return dict(
            session.execute(
                select(CrmContactOutcome.contact_id, CrmContactOutcome.action).where(
                    CrmContactOutcome.account_pk == pk
                )
            )
            .tuples()
            .all()
        )
