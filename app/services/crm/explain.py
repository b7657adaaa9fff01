"""What a salesperson reads next to a score in the CRM: the strongest factors,
and why, in plain words.

`top_factors` names the three largest contributions ("Lead Status +20 · Engagement
+10 · Company Match +15"); `explanation` says what the lead has and what it lacks
("Warm: qualified status, CEO title, 12 opens / 5 clicks, 1 open deal.\nMissing:
phone, industry."). Both come from the lead's inputs and factor values only, so
the same lead and weights always read the same (writes happen only on change).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from app.scoring import FACTOR_KEYS, FACTOR_NAMES

TOP = 3
MAX_EXPLANATION = 2000
# Profile fields a salesperson would want filled, in the order they are named.
_PROFILE_FIELDS = (
    ("phone", "phone"),
    ("company", "company"),
    ("job_title", "job title"),
    ("industry", "industry"),
    ("city", "city"),
    ("country", "country"),
    ("first_name", "first name"),
    ("last_name", "last name"),
)
_STATUS_WORDS = {
    "qualified": "qualified status",
    "in_progress": "in progress",
    "open": "open status",
    "new": "new lead",
    "unqualified": "unqualified status",
}


def top_factors(weights: Sequence[float], values: Sequence[float]) -> str:
    """The strongest contributions, in points of the 0-100 score."""
    points = sorted(
        (
            (round(100 * weight * value), index)
            for index, (weight, value) in enumerate(zip(weights, values, strict=True))
        ),
        key=lambda item: (-item[0], item[1]),
    )
    named = [
        f"{FACTOR_NAMES[FACTOR_KEYS[index]]} +{score}"
        for score, index in points[:TOP]
        if score > 0
    ]
    return " · ".join(named) or "No factor contributes yet"


def explanation(label: str, lead: Mapping[str, Any]) -> str:
    """Why the lead has its label: what it has, then what it lacks."""
    band = label.removesuffix(" Lead")
    has = _strengths(lead)
    missing = [word for field, word in _PROFILE_FIELDS if not _text(lead.get(field))]
    lines = [f"{band}: {', '.join(has)}." if has else f"{band}: little is known yet."]
    if missing:
        lines.append(f"Missing: {', '.join(missing)}.")
    return "\n".join(lines)[:MAX_EXPLANATION]


def _strengths(lead: Mapping[str, Any]) -> list[str]:
    found = []
    status = _text(lead.get("lead_status")).lower()
    if status:
        found.append(_STATUS_WORDS.get(status, f"status {status[:40]}"))
    title = _text(lead.get("job_title"))
    if title:
        found.append(f"{title[:60]} title")
    opens, clicks = (
        _count(lead.get("email_open_count")),
        _count(lead.get("email_click_count")),
    )
    if opens or clicks:
        found.append(f"{opens} opens / {clicks} clicks")
    deals = _count(lead.get("num_deals"))
    if deals:
        found.append(f"{deals} deal{'s' if deals != 1 else ''}")
    company = _text(lead.get("company"))
    if company:
        found.append(f"company {company[:60]}")
    size = _text(lead.get("employee_count"))
    if size:
        found.append(f"{size[:20]} employees")
    return found


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _count(value: object) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit() and value.isascii():
        return int(value.strip()[:12])
    return 0
