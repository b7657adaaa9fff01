"""Factor values, score and label for one lead.

`factor_values` works on the plain mapping a JSON body or a CRM record gives, so the
API's hot path never builds per-lead objects; `score_lead` wraps it into an
explainable result for everything that is not a hot path.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.scoring import factors as f
from app.scoring.fields import count, text, timestamp
from app.scoring.icp import NO_ICP, IdealCustomerProfile, employee_count
from app.scoring.labels import DEFAULT_BANDS, LabelBands
from app.scoring.value_tables import ValueTables

_DAY = 86_400.0
_ACTIVE_NOTES_SECONDS = f.ACTIVE_NOTES_DAYS * _DAY
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
_SENIORITY = f.SENIORITY_LEVELS
_STATUS = f.STATUS_VALUES


def factor_values(
    lead: Mapping, now: float, icp: IdealCustomerProfile = NO_ICP
) -> tuple[float, ...]:
    """The ten factor values (each 0..1) of a lead, in FACTOR_KEYS order."""
    return read_lead(lead, now, icp)[1]


def read_lead(
    lead: Mapping, now: float, icp: IdealCustomerProfile = NO_ICP
) -> tuple[str, tuple[float, ...]]:
    """The lead's email as read (stripped) and its ten factor values, in one pass.

    `now` is the current Unix time in seconds. Raises LeadFieldError for a field whose
    type cannot be read; unknown fields are ignored.
    """
    get = lead.get
    email = text(get("email"), "email")
    # Aliases inline (HubSpot's names when ours are absent): this runs per lead.
    first = get("first_name")
    first = text(get("firstname") if first is None else first, "first_name")
    last = get("last_name")
    last = text(get("lastname") if last is None else last, "last_name")
    company = text(get("company"), "company")
    title = get("job_title")
    title = text(get("jobtitle") if title is None else title, "job_title")
    phone = text(get("phone"), "phone")
    city = text(get("city"), "city")
    country = text(get("country"), "country")
    industry = text(get("industry"), "industry")
    status = text(get("lead_status"), "lead_status")

    created = timestamp(get("create_date"), "create_date")
    if created is None:
        recency = 0.0
    else:
        days = int((now - created) / _DAY)
        recency = max(0.0, min(1.0, 1.0 - days / f.RECENCY_WINDOW_DAYS))

    if status:
        status_value = _STATUS.get(status.lower(), f.UNKNOWN_STATUS_VALUE)
    else:
        status_value = 0.0

    opens = count(get("email_open_count"), "email_open_count")
    clicks = count(get("email_click_count"), "email_click_count")
    engagement = (
        min(1.0, opens / 10 * 0.4 + clicks / 3 * 0.6) if opens or clicks else 0.0
    )

    filled = (
        bool(email)
        + bool(first)
        + bool(last)
        + bool(company)
        + bool(title)
        + bool(phone)
        + bool(city)
        + bool(country)
        + bool(industry)
    )

    size = None
    if icp.size_range is not None:
        size = icp.size_value(employee_count(get("employee_count")))
    if size is None:
        size = _seniority(title)

    if count(get("num_deals"), "num_deals") > 0:
        activity = f.HAS_DEALS_VALUE
    else:
        notes = timestamp(get("notes_last_updated"), "notes_last_updated")
        if notes is not None and now - notes < _ACTIVE_NOTES_SECONDS:
            activity = f.RECENT_NOTES_VALUE
        else:
            activity = f.INACTIVE_VALUE

    return email, (
        1.0 if email else 0.0,
        1.0 if email and _EMAIL.fullmatch(email) else 0.0,
        1.0 if company else 0.0,
        icp.industry_value(industry),
        recency,
        status_value,
        engagement,
        filled / 9,
        size,
        activity,
    )


def _seniority(title: str) -> float:
    if not title:
        return 0.0
    lowered = title.lower()
    for keywords, value in _SENIORITY:
        for keyword in keywords:
            if keyword in lowered:
                return value
    return f.OTHER_TITLE_VALUE


def compute_score(values: Sequence[float], weights: Sequence[float]) -> int:
    """Weighted sum scaled to 0..100, clamped, rounded half up (as Go's math.Round).

    Summed left to right in factor order, like the reference, so that sums landing
    near .5 round the same way; unrolled because it runs once per lead.
    """
    v0, v1, v2, v3, v4, v5, v6, v7, v8, v9 = values
    w0, w1, w2, w3, w4, w5, w6, w7, w8, w9 = weights
    total = (
        v0 * w0
        + v1 * w1
        + v2 * w2
        + v3 * w3
        + v4 * w4
        + v5 * w5
        + v6 * w6
        + v7 * w7
        + v8 * w8
        + v9 * w9
    ) * 100
    if total >= 100:
        return 100
    if not total > 0:  # also catches NaN
        return 0
    whole = int(total)
    return whole + 1 if total - whole >= 0.5 else whole


@dataclass(frozen=True, slots=True)
class FactorResult:
    """One factor's part in a score: contribution = weight x value (a 0..1 share).

    `seed_value` is what the fixed rules give; `value` equals it unless `source` is
    "table", when the client's learned value table maps the one to the other.
    """

    key: str
    name: str
    weight: float
    value: float
    contribution: float
    seed_value: float
    source: str  # "seed" or "table"


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A lead's score, its label and all ten factors in fixed order."""

    score: int
    label: str
    factors: tuple[FactorResult, ...]


def score_lead(
    lead: Mapping,
    weights: Sequence[float],
    now: datetime,
    icp: IdealCustomerProfile = NO_ICP,
    bands: LabelBands = DEFAULT_BANDS,
    tables: ValueTables | None = None,
) -> ScoreResult:
    """Score one lead with weights in FACTOR_KEYS order at the given moment.

    `tables` (a personalised client's learned value tables) replace the seed
    values of the factors they cover; None keeps every seed value.
    """
    seeds = factor_values(lead, now.timestamp(), icp)
    if tables is None:
        values, learned = seeds, (False,) * len(seeds)
    else:
        values, learned = tables.apply(seeds), tables.sources
    score = compute_score(values, weights)
    return ScoreResult(
        score=score,
        label=bands.label_for(score),
        factors=tuple(
            FactorResult(
                key,
                f.FACTOR_NAMES[key],
                weight,
                value,
                weight * value,
                seed,
                "table" if from_table else "seed",
            )
            for key, weight, value, seed, from_table in zip(
                f.FACTOR_KEYS, weights, values, seeds, learned, strict=True
            )
        ),
    )
