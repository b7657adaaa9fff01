"""Deterministic, realistic demo data for both emulations: companies (some
without an industry or size), contacts with lead statuses, lifecycle stages,
email engagement and activity dates, most of them working for one of the
companies, and deals spread over two pipelines, some won, some lost, associated
with their contacts."""

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
COMPANY_KINDS = ["Labs", "Group", "Systems", "Logistics", "Health", "Retail", "Bank"]
CITIES = ["Kyiv", "Lviv", "Berlin", "Warsaw", "Austin", "Lisbon", "Toronto", "Leeds"]
HEADCOUNTS = [3, 12, 40, 85, 250, 700, 1800, 12000]
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
    sb: "HubSpotSandbox",
    hub_id: int,
    contacts: int,
    deals: int,
    seed: int,
    companies: int | None = None,
) -> dict[str, int]:
    """Create companies, contacts and deals in `hub_id` through the store (as an
    import); they are old data, so search finds them at once. Most contacts get
    a primary company; some have none, and some companies lack an industry."""
    from app.sandbox.hubspot.model import IMPORT

    if companies is None:
        companies = contacts // 8
    if not all(0 <= n <= MAX_SEEDED for n in (contacts, deals, companies)):
        raise ValueError(f"seed at most {MAX_SEEDED} records of each type")
    rng = random.Random(seed)
    account = sb.create_account(hub_id)
    if not any(p["id"] == "partners" for p in account.pipelines["deals"]):
        sb.add_pipeline(hub_id, "partners", "Partner Pipeline", PARTNER_STAGES)
    now = sb.clock.now()
    store = sb.store
    with store.lock:
        firms = [(_company(rng, index, now), index) for index in range(companies)]
        company_rows = [
            (
                store.create(account, "companies", values, IMPORT, trusted=True).id,
                values,
            )
            for values, _ in firms
        ]
        contact_ids = []
        for index in range(contacts):
            employer = rng.choice(company_rows) if company_rows else None
            if rng.random() < 0.2:
                employer = None
            values = _contact(rng, index, now, employer[1] if employer else None)
            record = store.create(account, "contacts", values, IMPORT, trusted=True)
            contact_ids.append(record.id)
            if employer is not None:
                store.link(
                    account,
                    "contacts",
                    record.id,
                    "companies",
                    employer[0],
                    IMPORT,
                    primary=True,
                )
        _deals(sb, account, rng, now, deals, contact_ids)
        store.flush_index(account)
    return {"contacts": contacts, "deals": deals, "companies": companies}


def _company(rng: random.Random, index: int, now: float) -> dict[str, str]:
    from app.sandbox.hubspot.options import INDUSTRIES
    from app.sandbox.hubspot.values import iso

    name = f"{rng.choice(COMPANIES)} {rng.choice(COMPANY_KINDS)}"
    domain = f"{name.lower().replace(' ', '-')}-{index}.example"
    values = {
        "name": name,
        "domain": domain,
        "website": f"https://www.{domain}",
        "city": rng.choice(CITIES),
        "createdate": iso(now - rng.uniform(30, 900) * 86400),
    }
    if rng.random() < 0.8:
        values["industry"] = rng.choice(INDUSTRIES)[0]
    if rng.random() < 0.75:
        values["numberofemployees"] = str(rng.choice(HEADCOUNTS))
    return values


def _contact(
    rng: random.Random, index: int, now: float, employer: dict[str, str] | None
) -> dict[str, Any]:
    from app.sandbox.hubspot import options
    from app.sandbox.hubspot.values import iso

    opens = rng.choice([0, 0, 1, 2, 3, 5, 8, 13])
    person = _person(rng, index)
    if employer is not None:
        person["company"] = employer["name"]
        if rng.random() < 0.7:
            first, last = person["firstname"], person["lastname"]
            person["email"] = f"{first}.{last}.{index}@{employer['domain']}".lower()
    values: dict[str, Any] = {
        **person,
        "createdate": iso(now - rng.uniform(1, 365) * 86400),
        "lifecyclestage": rng.choice(options.LIFECYCLE_STAGES[:6]),
        "hs_lead_status": rng.choice(options.LEAD_STATUSES),
        "hs_analytics_source": rng.choice(options.ANALYTICS_SOURCES),
        "hs_analytics_num_page_views": str(rng.randint(0, 60)),
        "hs_analytics_num_visits": str(rng.randint(0, 20)),
        "hs_email_delivered": str(opens + rng.randint(0, 6)),
        "hs_email_open": str(opens),
        "hs_email_click": str(rng.randint(0, opens)),
    }
    if rng.random() < 0.3:
        values["industry"] = rng.choice(options.INDUSTRIES)[1]
    if rng.random() < 0.35:
        values["numemployees"] = rng.choice(options.EMPLOYEE_RANGES)[0]
    if opens:
        values["hs_email_last_open_date"] = iso(now - rng.uniform(0, 60) * 86400)
    if rng.random() < 0.6:
        values["notes_last_updated"] = iso(now - rng.uniform(0, 90) * 86400)
    if rng.random() < 0.1:
        values["hs_sales_email_last_replied"] = iso(now - rng.uniform(0, 120) * 86400)
    if rng.random() < 0.04:
        values["hs_email_bounce"] = "1"
        values["hs_email_hard_bounce_reason_enum"] = rng.choice(
            ["UNKNOWN_USER", "UNKNOWN_USER", "MAILBOX_FULL", "DNS_FAILURE", "POLICY"]
        )
    return values


def _deals(
    sb: "HubSpotSandbox",
    account: Any,
    rng: random.Random,
    now: float,
    deals: int,
    contact_ids: list[str],
) -> None:
    from app.sandbox.hubspot.model import IMPORT
    from app.sandbox.hubspot.values import iso

    stages = {p["id"]: p["stages"] for p in account.pipelines["deals"]}
    for index in range(deals):
        pipeline = "default" if rng.random() < 0.75 else "partners"
        values = {
            "dealname": f"{rng.choice(COMPANIES)} deal #{index + 1}",
            "amount": str(rng.choice([500, 1200, 5000, 9900, 25000, 60000])),
            "pipeline": pipeline,
            "dealstage": rng.choice(stages[pipeline])["id"],
            "dealtype": rng.choice(["newbusiness", "existingbusiness"]),
            "closedate": iso(now + rng.uniform(-90, 90) * 86400),
            "createdate": iso(now - rng.uniform(1, 200) * 86400),
        }
        deal = sb.store.create(account, "deals", values, IMPORT, trusted=True)
        for contact_id in rng.sample(
            contact_ids, k=min(len(contact_ids), rng.choice([1, 1, 2, 3]))
        ):
            sb.store.associate(account, deal.id, contact_id, IMPORT)


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
