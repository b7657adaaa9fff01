"""HubSpot contact properties ↔ our types: the default mapping to the scoring
engine's lead fields, the outcome signals a contact shows, our stored score
properties read back, and a ScoreWrite turned into property values.

HubSpot sends every value as a string (or null). A value that cannot mean what
its field means counts as absent: one odd record must never stop a batch.
"""

import math
from datetime import UTC, datetime
from typing import Any

from app.crm.base import CrmContact, RecordRef, ScoreWrite, StoredScore
from app.crm.hubspot.properties import FIELD_CODES, LABEL_OPTIONS
from app.scoring.dates import parse_timestamp
from app.scoring.fields import MAX_TEXT_CHARS
from app.scoring.icp import employee_count
from app.scoring.labels import COLD, COOL, HOT, WARM

# HubSpot property → lead field, for plain text.
TEXT_FIELDS = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "phone": "phone",
    "company": "company",
    "jobtitle": "job_title",
    "city": "city",
    "country": "country",
    "industry": "industry",
}
COUNT_FIELDS = {
    "hs_email_open": "email_open_count",
    "hs_email_click": "email_click_count",
    "num_associated_deals": "num_deals",
}
DATE_FIELDS = {"createdate": "create_date", "notes_last_updated": "notes_last_updated"}
COMPANY_ID_PROPERTY = "associatedcompanyid"
# Outcome signals, from HubSpot's default contact properties (all read-only,
# kept by HubSpot itself):
# - "Marketing emails clicked", a count of clicks → clicked when above 0;
CLICKS_PROPERTY = "hs_email_click"
# - "Recent Sales Email Replied Date", set when the contact replies to a tracked
#   sales email → replied when it holds a date;
REPLIED_PROPERTY = "hs_sales_email_last_replied"
# - "Email hard bounce reason", set on a hard bounce → bounced when not empty;
BOUNCE_PROPERTY = "hs_email_hard_bounce_reason_enum"
# - "Lifecycle Stage" → converted at "customer" when the contact has no deals
#   ("Associated Deals" 0 or unset): where deals are used, a deal won is the
#   conversion, and it is counted from the deal.
LIFECYCLE_PROPERTY = "lifecyclestage"
CUSTOMER_STAGE = "customer"

MAPPED_PROPERTIES: tuple[str, ...] = (
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    "hs_lead_status",
    *DATE_FIELDS,
    "numemployees",
    COMPANY_ID_PROPERTY,
    REPLIED_PROPERTY,
    BOUNCE_PROPERTY,
    LIFECYCLE_PROPERTY,
    *FIELD_CODES.values(),
)

# HubSpot's default lead statuses → the five statuses the engine weighs
# (qualified 1.0, in_progress 0.7, open 0.5, new 0.3, unqualified 0.1):
# - NEW: nobody has worked the lead yet → new.
# - OPEN, IN_PROGRESS, UNQUALIFIED: the same meaning under HubSpot's name.
# - OPEN_DEAL: a deal is open for the contact, the strongest sign of
#   qualification the status can give → qualified.
# - ATTEMPTED_TO_CONTACT: outreach started but nobody answered yet, no more
#   than an open lead → open.
# - CONNECTED: a two-way conversation is under way → in_progress.
# - BAD_TIMING: interested but not now; still a live lead → open (also what the
#   engine gives any status it does not know, so nothing changes there).
# Custom statuses a portal adds pass through lower-cased, and the engine gives
# them its "other non-empty status" value.
LEAD_STATUS_TABLE = {
    "NEW": "new",
    "OPEN": "open",
    "IN_PROGRESS": "in_progress",
    "OPEN_DEAL": "qualified",
    "UNQUALIFIED": "unqualified",
    "ATTEMPTED_TO_CONTACT": "open",
    "CONNECTED": "in_progress",
    "BAD_TIMING": "open",
}
ENGINE_LABELS = {HOT: "Hot", WARM: "Warm", COOL: "Cool", COLD: "Cold"}
MAX_TOP_FACTORS_CHARS = 1000
MAX_EXPLANATION_CHARS = 4000
MAX_METHOD_CHARS = 200
MAX_COUNT = 10**9


def default_properties() -> dict[str, str]:
    """Lead field -> the HubSpot property the default mapping reads it from."""
    return {
        **{field: name for name, field in TEXT_FIELDS.items()},
        **{field: name for name, field in COUNT_FIELDS.items()},
        **{field: name for name, field in DATE_FIELDS.items()},
        "lead_status": "hs_lead_status",
        "employee_count": "numemployees",
    }


def to_contact(
    record_id: str,
    properties: dict[str, Any] | None,
    updated_at: Any,
    overrides: dict[str, str] | None = None,
) -> CrmContact:
    """A HubSpot contact as our CrmContact; `overrides` (lead field -> property)
    read a field from another property than the default mapping's."""
    values = properties if isinstance(properties, dict) else {}
    # HubSpot's own tracking, whatever properties the portal maps lead fields to.
    signals = outcome_signals(values)
    if overrides:
        defaults = default_properties()
        values = {
            **values,
            **{
                defaults[f]: values.get(p)
                for f, p in overrides.items()
                if f in defaults
            },
        }
    return CrmContact(
        ref=RecordRef("contacts", record_id),
        lead=to_lead(values),
        stored=stored_score(values),
        company_id=record_id_of(values.get(COMPANY_ID_PROPERTY)),
        updated_at=as_utc(updated_at),
        signals=signals,
    )


def outcome_signals(values: dict[str, Any]) -> frozenset[str]:
    """The outcome signals (app.crm.base.SIGNALS) HubSpot's properties show."""
    found = set()
    if (_count(values.get(CLICKS_PROPERTY)) or 0) > 0:
        found.add("clicked")
    if _date_text(values.get(REPLIED_PROPERTY)) is not None:
        found.add("replied")
    if _text(values.get(BOUNCE_PROPERTY), 100) is not None:
        found.add("bounced")
    stage = _text(values.get(LIFECYCLE_PROPERTY), 100)
    if stage is not None and stage.lower() == CUSTOMER_STAGE:
        if not _count(values.get("num_associated_deals")):
            found.add("converted")
    return frozenset(found)


def to_lead(values: dict[str, Any]) -> dict[str, Any]:
    """The engine's lead fields from HubSpot property values (absent ones left out)."""
    lead: dict[str, Any] = {}
    for name, field in TEXT_FIELDS.items():
        if (text := _text(values.get(name), MAX_TEXT_CHARS)) is not None:
            lead[field] = text
    for name, field in COUNT_FIELDS.items():
        if (number := _count(values.get(name))) is not None:
            lead[field] = number
    for name, field in DATE_FIELDS.items():
        if (moment := _date_text(values.get(name))) is not None:
            lead[field] = moment
    if (status := _text(values.get("hs_lead_status"), 100)) is not None:
        lead["lead_status"] = LEAD_STATUS_TABLE.get(status.upper(), status.lower())
    size = _text(values.get("numemployees"), 50)
    if size is not None and _employee_count_ok(size):
        lead["employee_count"] = size
    return lead


def stored_score(values: dict[str, Any]) -> StoredScore:
    """Our six properties as HubSpot holds them now."""
    score = _count(values.get(FIELD_CODES["score"]))
    label = _text(values.get(FIELD_CODES["label"]), 20)
    return StoredScore(
        score=score if score is not None and score <= 100 else None,
        label=label if label in LABEL_OPTIONS else None,
        top_factors=_text(values.get(FIELD_CODES["top_factors"]), 65_536),
        explanation=_text(values.get(FIELD_CODES["explanation"]), 65_536),
        method=_text(values.get(FIELD_CODES["method"]), 65_536),
        scored_at=moment_of(values.get(FIELD_CODES["scored_at"])),
    )


def score_properties(write: ScoreWrite) -> dict[str, str] | str:
    """Property values for one write, or why the write cannot be sent (checked
    here because one bad value makes HubSpot refuse the whole batch)."""
    if isinstance(write.score, bool) or not isinstance(write.score, int):
        return "score must be an integer"
    if not 0 <= write.score <= 100:
        return "score must be between 0 and 100"
    label = label_option(write.label)
    if label is None:
        return f"label must be one of {', '.join(LABEL_OPTIONS)}"
    if not isinstance(write.scored_at, datetime):
        return "scored_at must be a datetime"
    return {
        FIELD_CODES["score"]: str(write.score),
        FIELD_CODES["label"]: label,
        FIELD_CODES["top_factors"]: _cut(write.top_factors, MAX_TOP_FACTORS_CHARS),
        FIELD_CODES["explanation"]: _cut(write.explanation, MAX_EXPLANATION_CHARS),
        FIELD_CODES["method"]: _cut(write.method, MAX_METHOD_CHARS),
        FIELD_CODES["scored_at"]: iso_millis(write.scored_at),
    }


def label_option(label: str) -> str | None:
    """Our enumeration value for an engine label ("Hot Lead") or a bare "hot"."""
    if not isinstance(label, str):
        return None
    if label in ENGINE_LABELS:
        return ENGINE_LABELS[label]
    word = label.strip().split(" ")[0].capitalize() if label.strip() else ""
    return word if word in LABEL_OPTIONS else None


def iso_millis(moment: datetime) -> str:
    """A datetime as HubSpot writes them: UTC, milliseconds, `Z` (naive = UTC)."""
    utc = as_utc(moment) or moment
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def as_utc(moment: Any) -> datetime | None:
    """A datetime in UTC (naive ones are taken as UTC); None for anything else."""
    if not isinstance(moment, datetime):
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def moment_of(raw: Any) -> datetime | None:
    """A HubSpot date or datetime value (ISO or epoch ms) as UTC, or None."""
    text = _text(raw, 64)
    seconds = parse_timestamp(text) if text is not None else None
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def record_id_of(raw: Any) -> str | None:
    """A HubSpot record id (positive, ≤ 64-bit, digits) as a string, or None."""
    text = raw if isinstance(raw, str) else None
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return str(value) if 0 < value < 2**63 else None


def _text(raw: Any, limit: int) -> str | None:
    if not isinstance(raw, str):
        return None
    text = raw[:limit].strip()
    return text or None


def _cut(text: str, limit: int) -> str:
    text = text if isinstance(text, str) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _count(raw: Any) -> int | None:
    """A non-negative whole number ("12", "12.0"); None when absent or odd."""
    text = _text(raw, 32)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number) or number < 0 or number > MAX_COUNT:
        return None
    return int(number)


def _date_text(raw: Any) -> str | None:
    text = _text(raw, 64)
    return text if text is not None and parse_timestamp(text) is not None else None


def _employee_count_ok(text: str) -> bool:
    try:
        return employee_count(text) is not None
    except ValueError:
        return False
