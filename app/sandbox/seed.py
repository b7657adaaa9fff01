"""Deterministic, realistic demo data for both emulations: contacts with lead
statuses, lifecycle stages, email engagement and activity dates, and deals spread
over two pipelines, some won, some lost, associated with their contacts."""

import random
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox
    from app.sandbox.uspacy.sandbox import UspacySandbox

FIRST = [
    "Olena",
    "Andrii",
    "Maria",
    "John",
    "Sofia",
    "Taras",
    "Emma",
    "Lukas",
    "Anna",
    "Mateo",
    "Iryna",
    "Noah",
    "Chloe",
    "Dmytro",
    "Ava",
    "Jonas",
]
LAST = [
    "Koval",
    "Shevchenko",
    "Smith",
    "Garcia",
    "Muller",
    "Bondarenko",
    "Rossi",
    "Novak",
    "Kowalski",
    "Brown",
    "Melnyk",
    "Dubois",
    "Silva",
    "Tkachenko",
]
COMPANIES = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Vandelay",
]
TITLES = [
    "CEO",
    "CTO",
    "Head of Sales",
    "Marketing Manager",
    "Developer",
    "Procurement Lead",
    "Founder",
    "Operations Manager",
    "Student",
]
MAX_SEEDED = 50_000
DOMAINS = ["gmail.com", "outlook.com", "acme.io", "globex.com", "initech.dev"]
PARTNER_STAGES = [
    ("p-new", "New partner lead", "0.1", False),
    ("p-demo", "Demo done", "0.5", False),
    ("p-signed", "Signed", "1.0", True),
    ("p-lost", "Dropped", "0.0", True),
]


def _person(rng: random.Random, index: int) -> dict[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    company = rng.choice(COMPANIES)
    domain = rng.choice(DOMAINS + [company.lower().replace(" ", "") + ".com"])
    return {
        "firstname": first,
        "lastname": last,
        "company": company,
        "email": f"{first}.{last}.{index}@{domain}".lower(),
        "jobtitle": rng.choice(TITLES),
        "phone": f"+380{rng.randint(10**8, 10**9 - 1)}",
    }


def seed_hubspot(
    sb: "HubSpotSandbox", hub_id: int, contacts: int, deals: int, seed: int
) -> dict[str, int]:
    """Create contacts and deals in `hub_id` through the store (as imports); they
    are old data, so search finds them at once."""
    from app.sandbox.hubspot import defaults
    from app.sandbox.hubspot.values import iso

    if not (0 <= contacts <= MAX_SEEDED and 0 <= deals <= MAX_SEEDED):
        raise ValueError(f"seed at most {MAX_SEEDED} contacts and deals")
    rng = random.Random(seed)
    account = sb.create_account(hub_id)
    if not any(p["id"] == "partners" for p in account.pipelines["deals"]):
        sb.add_pipeline(hub_id, "partners", "Partner Pipeline", PARTNER_STAGES)
    now = sb.clock.now()
    contact_ids = []
    for index in range(contacts):
        created = now - rng.uniform(1, 365) * 86400
        opens = rng.choice([0, 0, 1, 2, 3, 5, 8, 13])
        values: dict[str, Any] = {
            **_person(rng, index),
            "createdate": iso(created),
            "lifecyclestage": rng.choice(defaults.LIFECYCLE_STAGES[:6]),
            "hs_lead_status": rng.choice(defaults.LEAD_STATUSES),
            "hs_analytics_source": rng.choice(defaults.ANALYTICS_SOURCES),
            "hs_analytics_num_page_views": str(rng.randint(0, 60)),
            "hs_analytics_num_visits": str(rng.randint(0, 20)),
            "hs_email_delivered": str(opens + rng.randint(0, 6)),
            "hs_email_open": str(opens),
            "hs_email_click": str(rng.randint(0, opens)),
        }
        if opens:
            values["hs_email_last_open_date"] = iso(now - rng.uniform(0, 60) * 86400)
        if rng.random() < 0.6:
            values["notes_last_updated"] = iso(now - rng.uniform(0, 90) * 86400)
        if rng.random() < 0.04:
            values["hs_email_bounce"] = "1"
            values["hs_email_hard_bounce_reason_enum"] = "UNKNOWN_USER"
        contact_ids.append(
            sb.store.create(account, "contacts", values, "IMPORT", trusted=True).id
        )
    stages = {p["id"]: p["stages"] for p in account.pipelines["deals"]}
    for index in range(deals):
        pipeline = "default" if rng.random() < 0.75 else "partners"
        stage = rng.choice(stages[pipeline])["id"]
        values = {
            "dealname": f"{rng.choice(COMPANIES)} deal #{index + 1}",
            "amount": str(rng.choice([500, 1200, 5000, 9900, 25000, 60000])),
            "pipeline": pipeline,
            "dealstage": stage,
            "dealtype": rng.choice(["newbusiness", "existingbusiness"]),
            "closedate": iso(now + rng.uniform(-90, 90) * 86400),
            "createdate": iso(now - rng.uniform(1, 200) * 86400),
        }
        deal = sb.store.create(account, "deals", values, "IMPORT", trusted=True)
        for contact_id in rng.sample(
            contact_ids, k=min(len(contact_ids), rng.choice([1, 1, 2, 3]))
        ):
            sb.store.associate(account, deal.id, contact_id, "IMPORT")
    sb.store.flush_index(account)
    return {"contacts": contacts, "deals": deals}


def seed_uspacy(
    sb: "UspacySandbox", domain: str, leads: int, deals: int, seed: int
) -> dict[str, int]:
    """Create leads, contacts and deals on one Uspacy portal."""
    rng = random.Random(seed)
    portal = sb.create_portal(domain)
    funnel = portal.funnels["deals"][0]
    for index in range(leads):
        person = _person(rng, index)
        sb.store.create(
            portal,
            "leads",
            {
                "title": f"{person['company']} enquiry",
                "first_name": person["firstname"],
                "last_name": person["lastname"],
                "company_name": person["company"],
                "position": person["jobtitle"],
                "email": [{"value": person["email"], "type": "work"}],
                "phone": [{"value": person["phone"].lstrip("+"), "type": "work"}],
                "utm_source": rng.choice(["google", "facebook", "newsletter", ""]),
            },
            user_id=1,
            emit=False,
        )
        if index % 2 == 0:
            sb.store.create(
                portal,
                "contacts",
                {
                    "title": f"{person['firstname']} {person['lastname']}",
                    "first_name": person["firstname"],
                    "last_name": person["lastname"],
                    "email": [{"value": person["email"], "type": "work"}],
                },
                user_id=1,
                emit=False,
            )
    for index in range(deals):
        stage = rng.choice(funnel["stages"])
        record = sb.store.create(
            portal,
            "deals",
            {
                "title": f"{rng.choice(COMPANIES)} pilot #{index + 1}",
                "amount": {
                    "currency": "UAH",
                    "value": str(rng.choice([5000, 15000, 90000])),
                },
            },
            user_id=1,
            emit=False,
        )
        sb.store.move(
            portal, "deals", record["id"], stage["id"], None, user_id=1, emit=False
        )
    return {"leads": leads, "deals": deals}
