"""The optimised engine against a plain, obviously-correct reading of the scoring rules
(the reference service's semantics), on thousands of random leads and clocks."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from app.scoring import DEFAULT_WEIGHTS, FACTOR_KEYS, score_lead

WEIGHTS = tuple(DEFAULT_WEIGHTS.values())
STATUS = {
    "qualified": 1.0,
    "in_progress": 0.7,
    "open": 0.5,
    "new": 0.3,
    "unqualified": 0.1,
}


def parse(value, now: datetime):
    """Dates as the reference accepts them: RFC 3339, date only, epoch ms digits."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reference_score(lead: dict, now: datetime) -> tuple[int, list[float]]:
    get = lead.get
    email = get("email", "")
    created = parse(get("create_date"), now)
    days = int((now - created) / timedelta(days=1)) if created else None
    status = get("lead_status", "")
    opens, clicks = get("email_open_count", 0), get("email_click_count", 0)
    title = get("job_title", "").lower()
    fields = [
        "email",
        "first_name",
        "last_name",
        "company",
        "job_title",
        "phone",
        "city",
        "country",
        "industry",
    ]
    if not title:
        seniority = 0.0
    elif any(k in title for k in ("ceo", "founder", "owner")):
        seniority = 1.0
    elif any(k in title for k in ("director", "vp", "chief")):
        seniority = 0.8
    elif any(k in title for k in ("manager", "head")):
        seniority = 0.6
    else:
        seniority = 0.3
    notes = parse(get("notes_last_updated"), now)
    if get("num_deals", 0) > 0:
        activity = 0.7
    elif notes is not None and now - notes < timedelta(days=30):
        activity = 0.5
    else:
        activity = 0.2
    values = [
        1.0 if email else 0.0,
        1.0 if "@" in email else 0.0,
        1.0 if get("company") else 0.0,
        1.0 if get("industry") else 0.0,
        max(0.0, min(1.0, 1 - days / 90)) if days is not None else 0.0,
        STATUS.get(status.lower(), 0.5) if status else 0.0,
        min(1.0, opens / 10 * 0.4 + clicks / 3 * 0.6),
        sum(1 for f in fields if get(f)) / 9,
        seniority,
        activity,
    ]
    total = 0.0
    for weight, value in zip(WEIGHTS, values, strict=True):
        total += weight * value
    scaled = min(100.0, max(0.0, total * 100))
    whole = int(scaled)
    return whole + (1 if scaled - whole >= 0.5 else 0), values


def random_lead(rng: random.Random, now: datetime) -> dict:
    def maybe(value):
        return value if rng.random() < 0.6 else None

    def date():
        moment = now - timedelta(seconds=rng.uniform(-10 * 86400, 200 * 86400))
        return rng.choice(
            [
                moment.isoformat().replace("+00:00", "Z"),
                moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                moment.strftime("%Y-%m-%d"),
                str(int(moment.timestamp() * 1000)),
                moment.astimezone(UTC).isoformat(),
            ]
        )

    lead = {
        "email": maybe(
            rng.choice(["ann@acme.com", "bob.lee@mail.example.org", "", "no-at-sign"])
        ),
        "first_name": maybe("Ann"),
        "last_name": maybe("Lee"),
        "company": maybe(rng.choice(["Acme", ""])),
        "phone": maybe("+1 555"),
        "job_title": maybe(
            rng.choice(
                [
                    "CEO",
                    "VP Sales",
                    "Head of IT",
                    "Engineer",
                    "Co-Founder",
                    "Sales Manager",
                    "",
                ]
            )
        ),
        "city": maybe("Kyiv"),
        "country": maybe("UA"),
        "industry": maybe("Retail"),
        "lead_status": maybe(rng.choice([*STATUS, "QUALIFIED", "customer", ""])),
        "email_open_count": maybe(rng.randint(0, 30)),
        "email_click_count": maybe(rng.randint(0, 8)),
        "num_deals": maybe(rng.choice([0, 0, 1, 3])),
        "create_date": maybe(date()),
        "notes_last_updated": maybe(date()),
    }
    return {k: v for k, v in lead.items() if v is not None}


@pytest.mark.parametrize("seed", range(5))
def test_engine_matches_the_plain_reading(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(600):
        now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(
            seconds=rng.uniform(0, 365 * 86400)
        )
        lead = random_lead(rng, now)
        expected, values = reference_score(lead, now)
        # The engine checks email syntax more strictly than "contains @"; the
        # generated addresses are either valid, empty or without "@".
        result = score_lead(lead, WEIGHTS, now)
        assert [f.value for f in result.factors] == pytest.approx(values), lead
        assert result.score == expected, lead
        assert [f.key for f in result.factors] == list(FACTOR_KEYS)
