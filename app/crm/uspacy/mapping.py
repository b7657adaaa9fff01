"""Uspacy leads and contacts ↔ our types: which record key each of the scoring
engine's lead fields is read from (a table per object type, which a portal's
overrides change), the outcome signals a record shows, our stored score fields
read back, and a ScoreWrite turned into field values.

Uspacy keeps dates as unix SECONDS; the engine reads a number as epoch
MILLISECONDS, so every date field is converted here.
"""

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.crm.base import CrmContact, RecordRef, ScoreWrite, StoredScore
from app.crm.uspacy import contract, values
from app.crm.uspacy.field_specs import DEFAULT_CODES, LABEL_VALUES
from app.scoring.fields import MAX_TEXT_CHARS
from app.scoring.icp import employee_count
from app.scoring.labels import COLD, COOL, HOT, WARM

# The engine's lead fields by how their value is read.
TEXT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "phone",
    "company",
    "job_title",
    "city",
    "country",
    "industry",
)
COUNT_FIELDS = ("email_open_count", "email_click_count", "num_deals")
DATE_FIELDS = ("create_date", "notes_last_updated")
LEAD_FIELDS = (
    *TEXT_FIELDS,
    *COUNT_FIELDS,
    *DATE_FIELDS,
    "lead_status",
    "deal_amount",
    "employee_count",
)

# Lead field -> the record key it is read from, per object type (field names
# from Uspacy's SDKs and real records). Not mapped by default, for want of a
# standard Uspacy field: opens, clicks, deals, city and country (addresses have
# no documented codes), industry and size (company fields), and
# `notes_last_updated`: `updated_at` moves with every edit, ours included, so
# our own write would make the lead look active.
LEAD_SOURCES: dict[str, str] = {
    "email": "email",
    "first_name": "first_name",
    "last_name": "last_name",
    "phone": "phone",
    "company": "company_name",
    "job_title": "position",
    "create_date": contract.CREATED_KEY,
    # Resolved through the lead funnel's stage codes (STAGE_STATUS).
    "lead_status": contract.STAGE_KEY,
}
CONTACT_SOURCES: dict[str, str] = {
    **{k: v for k, v in LEAD_SOURCES.items() if k != "lead_status"},
    "company": "companies",
}
DEFAULT_SOURCES: dict[str, dict[str, str]] = {
    "leads": LEAD_SOURCES,
    "contacts": CONTACT_SOURCES,
}
# A lead's stage code -> the five statuses the engine weighs (qualified 1.0,
# in_progress 0.7, open 0.5, new 0.3, unqualified 0.1): won is as qualified as
# a lead gets, lost is unqualified, and a custom stage is one a salesperson moved
# the lead to, so it is being worked.
STAGE_STATUS = {
    contract.NEW_CODE: "new",
    contract.IN_WORK_CODE: "in_progress",
    contract.WON_CODE: "qualified",
    contract.LOST_CODE: "unqualified",
}
CUSTOM_STAGE_STATUS = "in_progress"
ENGINE_LABELS = {HOT: "Hot", WARM: "Warm", COOL: "Cool", COLD: "Cold"}
LABEL_OF_VALUE = {value: label for label, value in LABEL_VALUES.items()}
MAX_TOP_FACTORS_CHARS = 1000
MAX_EXPLANATION_CHARS = 4000
MAX_METHOD_CHARS = 200
MAX_STORED_CHARS = 65_536
# Field codes a portal may map from (snake_case, like every known real code).
_CODE = re.compile(r"[a-z][a-z0-9_]{0,99}")
OWN_CODE_PREFIX = "conturs_"


def sources_for(object_type: str, overrides: Mapping[str, str | None]) -> dict:
    """The object type's table with a portal's overrides applied: lead field ->
    record key, or None to stop reading that field."""
    table = dict(DEFAULT_SOURCES[object_type])
    for field, code in checked_overrides(overrides).items():
        if code is None:
            table.pop(field, None)
        else:
            table[field] = code
    return table


def checked_overrides(overrides: Mapping[str, str | None]) -> dict[str, str | None]:
    """Overrides as given, or ValueError naming what is wrong."""
    for field, code in overrides.items():
        if field not in LEAD_FIELDS:
            raise ValueError(f"unknown lead field {field!r}")
        if code is not None and (
            not isinstance(code, str)
            or not _CODE.fullmatch(code)
            or code.startswith(OWN_CODE_PREFIX)
        ):
            raise ValueError(f"{code!r} is not a Uspacy field code to read from")
    return dict(overrides)


def to_contact(
    record: Mapping[str, Any],
    object_type: str,
    sources: Mapping[str, str],
    codes: Mapping[str, str] | None = None,
    stage_code: str | None = None,
) -> CrmContact | None:
    """A lead or contact record as our CrmContact (None without a usable id);
    `stage_code` is the code of the lead's stage, looked up in its funnel."""
    record_id = values.record_id(record.get("id"))
    if record_id is None:
        return None
    return CrmContact(
        ref=RecordRef(object_type, record_id),
        lead=to_lead(record, sources, stage_code),
        stored=stored_score(record, codes or DEFAULT_CODES),
        company_id=values.reference_id(record.get("companies")),
        updated_at=values.moment(record.get(contract.UPDATED_KEY)),
        signals=outcome_signals(record, object_type, stage_code),
        became=converted_into(record, object_type),
    )


def to_lead(
    record: Mapping[str, Any], sources: Mapping[str, str], stage_code: str | None
) -> dict[str, Any]:
    """The engine's lead fields from a record (absent ones left out)."""
    lead: dict[str, Any] = {}
    for field, code in sources.items():
        raw = record.get(code)
        found: Any
        if field in TEXT_FIELDS:
            found = values.text(raw, MAX_TEXT_CHARS)
        elif field in COUNT_FIELDS:
            found = values.count(raw)
        elif field in DATE_FIELDS:
            found = values.epoch_millis(raw)
        elif field == "deal_amount":
            found = values.amount(raw)
        elif field == "lead_status":
            found = _status(code, raw, record, stage_code)
        else:  # employee_count
            found = _size(values.text(raw, 50))
        if found is not None:
            lead[field] = found
    return lead


def _status(
    code: str, raw: Any, record: Mapping[str, Any], stage_code: str | None
) -> str | None:
    if code != contract.STAGE_KEY:
        status = values.text(raw, 100, prefer="value")
        return status.lower() if status else None
    if stage_code is None:  # stage not in the funnels: its status says more
        stage_code = values.text(record.get(contract.STATUS_KEY), 100)
        if stage_code is None:
            return None
    return STAGE_STATUS.get(stage_code, CUSTOM_STAGE_STATUS)


def _size(text: str | None) -> str | None:
    try:
        return text if text is not None and employee_count(text) is not None else None
    except ValueError:
        return None


def outcome_signals(
    record: Mapping[str, Any], object_type: str, stage_code: str | None
) -> frozenset[str]:
    """A lead shows "converted" when Uspacy marks it converted (into a contact
    or deal). A lead moved to its funnel's SUCCESS stage is an outcome of the
    stage change instead (the outcome ledger, where a portal's stage settings
    apply: a SUCCESS stage set to mean nothing must record nothing), so the
    stage is not read here. Uspacy keeps no email opens, clicks, replies or
    bounces on records, so no other signal is read."""
    if object_type == "leads" and record.get(contract.CONVERTED_KEY) is True:
        return frozenset({"converted"})
    return frozenset()


def converted_into(
    record: Mapping[str, Any], object_type: str
) -> tuple[RecordRef, ...]:
    """The contacts a converted lead became (its score history goes with it)."""
    if object_type != "leads" or record.get(contract.CONVERTED_KEY) is not True:
        return ()
    ids = values.reference_ids(record.get(contract.LEAD_CONTACTS_KEY))
    return tuple(RecordRef("contacts", contact_id) for contact_id in ids)


def stored_score(record: Mapping[str, Any], codes: Mapping[str, str]) -> StoredScore:
    """Our six fields as the record holds them now."""
    score = values.count(record.get(codes["score"]))
    label_value = values.text(record.get(codes["label"]), 20, prefer="value")
    return StoredScore(
        score=score if score is not None and score <= 100 else None,
        label=LABEL_OF_VALUE.get((label_value or "").lower()),
        top_factors=values.text(record.get(codes["top_factors"]), MAX_STORED_CHARS),
        explanation=values.text(record.get(codes["explanation"]), MAX_STORED_CHARS),
        method=values.text(record.get(codes["method"]), MAX_STORED_CHARS),
        scored_at=values.moment(record.get(codes["scored_at"])),
    )


def score_values(write: ScoreWrite, codes: Mapping[str, str]) -> dict[str, Any] | str:
    """Field values for one write, or why it cannot be sent."""
    if isinstance(write.score, bool) or not isinstance(write.score, int):
        return "score must be an integer"
    if not 0 <= write.score <= 100:
        return "score must be between 0 and 100"
    label = label_value(write.label)
    if label is None:
        return f"label must be one of {', '.join(LABEL_VALUES)}"
    if not isinstance(write.scored_at, datetime):
        return "scored_at must be a datetime"
    return {
        codes["score"]: write.score,
        codes["label"]: label,
        codes["top_factors"]: _cut(write.top_factors, MAX_TOP_FACTORS_CHARS),
        codes["explanation"]: _cut(write.explanation, MAX_EXPLANATION_CHARS),
        codes["method"]: _cut(write.method, MAX_METHOD_CHARS),
        codes["scored_at"]: contract.datetime_field_value(write.scored_at),
    }


def label_value(label: str) -> str | None:
    """Our list option value for an engine label ("Hot Lead") or a bare "hot"."""
    if not isinstance(label, str):
        return None
    word = ENGINE_LABELS.get(label) or (label.split() or [""])[0].capitalize()
    return LABEL_VALUES.get(word)


def _cut(text: str, limit: int) -> str:
    text = text if isinstance(text, str) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"
