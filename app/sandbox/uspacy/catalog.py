"""What a fresh Uspacy portal has: the system fields of each entity type (codes and
types from Uspacy's API documentation and its example records), the option lists
of its list and label fields, and the default funnels with their stages.

The field catalogue is what record writes are validated against, so a key missing
here is refused with 422 like any other unknown code.
"""

from typing import Any

# Field types of Uspacy's JS SDK `FieldTypes`; a custom field of another type is
# refused (ASSUMED: the server validates `type` against its catalogue).
FIELD_TYPES = frozenset(
    {
        "string",
        "textarea",
        "integer",
        "float",
        "list",
        "datetime",
        "money",
        "label",
        "phone",
        "email",
        "social",
        "link",
        "boolean",
        "user_id",
        "photo",
        "file",
        "document",
        "address",
        "legal_details",
        "entity_reference",
        "utm",
        "customLink",
        "dateCheap",
        "stage",
        "status",
        "reason",
    }
)

# Keys every record carries that no write may set (ASSUMED: refused with 422
# rather than silently dropped, the stricter guess).
READ_ONLY = frozenset(
    {"id", "table_name", "created_at", "updated_at", "created_by", "changed_by"}
)
# Pipeline keys change only through `…/move/stage/{id}` (ASSUMED, stricter).
PIPELINE = frozenset(
    {"funnel_id", "kanban_stage_id", "kanban_status", "kanban_reason_id"}
)


def _options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [
        {"title": title, "value": value, "color": "#90caf9", "sort": i + 1}
        for i, (title, value) in enumerate(pairs)
    ]


SOURCES = _options(
    ("Website", "site"), ("Phone call", "call"), ("Email", "email"), ("Ads", "ads")
)
LABELS = _options(("Hot", "hot"), ("Warm", "warm"), ("Cold", "cold"))

COMMON = [
    ("Title", "title", "string"),
    ("Owner", "owner", "user_id"),
    ("Comments", "comments", "textarea"),
    ("Source", "source", "list"),
    ("Converted", "converted", "boolean"),
    *[(f"UTM {part}", f"utm_{part}", "utm") for part in ("source", "medium")],
    *[(f"UTM {part}", f"utm_{part}", "utm") for part in ("campaign", "content")],
    ("UTM term", "utm_term", "utm"),
]
PERSON = [
    ("First name", "first_name", "string"),
    ("Last name", "last_name", "string"),
    ("Patronymic", "patronymic", "string"),
    ("Position", "position", "string"),
    ("Phone", "phone", "phone"),
    ("Email", "email", "email"),
    ("Messengers", "messengers", "social"),
]
PIPELINE_FIELDS = [
    ("Funnel", "funnel_id", "integer"),
    ("Stage", "kanban_stage_id", "stage"),
    ("Status", "kanban_status", "status"),
    ("Reason", "kanban_reason_id", "reason"),
]
SYSTEM_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "leads": [
        *COMMON,
        *PERSON,
        *PIPELINE_FIELDS,
        ("Company name", "company_name", "string"),
        ("Labels", "lead_label", "label"),
        ("Contacts", "contacts", "entity_reference"),
        ("Companies", "companies", "entity_reference"),
    ],
    "contacts": [
        *COMMON,
        *PERSON,
        ("Companies", "companies", "entity_reference"),
        ("Labels", "contact_label", "label"),
        ("Birthdate", "birthdate", "datetime"),
    ],
    "deals": [
        *COMMON,
        *PIPELINE_FIELDS,
        ("Amount", "amount", "money"),
        ("Contacts", "contacts", "entity_reference"),
        ("Companies", "companies", "entity_reference"),
        ("Labels", "deal_label", "label"),
        ("Probability", "probability", "integer"),
    ],
    "companies": [
        *COMMON,
        ("Site", "site", "link"),
        ("Phone", "phone", "phone"),
        ("Email", "email", "email"),
        ("Messengers", "messengers", "social"),
        ("Contacts", "contacts", "entity_reference"),
        ("Labels", "company_label", "label"),
        ("Industry", "industry_label", "label"),
        ("Employees", "employees_label", "label"),
    ],
}
MULTIPLE_TYPES = {"phone", "email", "social", "label"}


def system_field(name: str, code: str, kind: str) -> dict[str, Any]:
    """An `IField` of a built-in field."""
    values = SOURCES if kind == "list" else LABELS if kind == "label" else []
    return {
        "name": name,
        "code": code,
        "type": kind,
        "required": False,
        "editable": True,
        "show": True,
        "hidden": False,
        "multiple": kind in MULTIPLE_TYPES
        or (kind == "entity_reference" and code in ("contacts", "companies")),
        "system_field": True,
        "base_field": True,
        "field_section_id": None,
        "sort": 1,
        "default_value": None,
        "values": [dict(v) for v in values],
    }


def system_fields(kind: str) -> dict[str, dict[str, Any]]:
    """The built-in fields of one entity type, by code."""
    return {code: system_field(name, code, t) for name, code, t in SYSTEM_FIELDS[kind]}


def _stage(
    sid: int, title: str, code: str, sort: int, funnel: int, reasons: list
) -> dict[str, Any]:
    return {
        "id": sid,
        "title": title,
        "stage_code": code,
        "color": "#90caf9",
        "sort": sort,
        "system_stage": code in ("NEW", "SUCCESS", "FAIL"),
        "reasons": [
            {"id": rid, "title": t, "sort": 1, "funnel_id": funnel}
            for rid, t in reasons
        ],
        "funnel_id": funnel,
    }


def funnel(fid: int, title: str, code: str, base: int) -> dict[str, Any]:
    """A funnel with New, In progress, Negotiation, Won and Lost stages."""
    return {
        "id": fid,
        "title": title,
        "funnel_code": code,
        "default": True,
        "active": True,
        "tariff_limited": False,
        "stages": [
            _stage(base + 1, "New", "NEW", 1, fid, []),
            _stage(base + 2, "In progress", "IN_WORK", 2, fid, []),
            _stage(base + 3, "Negotiation", "negotiation", 3, fid, []),
            _stage(base + 4, "Won", "SUCCESS", 90, fid, [(base * 10 + 1, "Signed")]),
            _stage(
                base + 5, "Lost", "FAIL", 99, fid, [(base * 10 + 2, "Too expensive")]
            ),
        ],
    }
