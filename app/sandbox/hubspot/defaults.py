"""What a fresh HubSpot portal already has: default property groups, the default
contact and deal properties the app reads, and the default deal pipeline.

Names, types and option values follow HubSpot's documented defaults; labels are
abbreviated.
"""

from typing import Any

OBJECT_TYPE_IDS = {"contacts": "0-1", "deals": "0-3"}
SINGULAR = {"contacts": "contact", "deals": "deal"}

LEAD_STATUSES = [
    "NEW",
    "OPEN",
    "IN_PROGRESS",
    "OPEN_DEAL",
    "UNQUALIFIED",
    "ATTEMPTED_TO_CONTACT",
    "CONNECTED",
    "BAD_TIMING",
]
LIFECYCLE_STAGES = [
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]
ANALYTICS_SOURCES = [
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "OTHER_CAMPAIGNS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
    "PAID_SOCIAL",
]

GROUPS = {
    "contacts": [
        ("contactinformation", "Contact information"),
        ("emailinformation", "Email information"),
        ("analyticsinformation", "Web analytics history"),
        ("sales_properties", "Sales properties"),
    ],
    "deals": [("dealinformation", "Deal information")],
}

# name: (label, type, fieldType, group, read-only value, options)
_Spec = tuple[str, str, str, str, bool, list[str] | None]
_TEXT = ("string", "text")
_NUM = ("number", "number")
_DT = ("datetime", "date")

CONTACT_PROPERTIES: dict[str, _Spec] = {
    "email": ("Email", *_TEXT, "contactinformation", False, None),
    "firstname": ("First Name", *_TEXT, "contactinformation", False, None),
    "lastname": ("Last Name", *_TEXT, "contactinformation", False, None),
    "phone": (
        "Phone Number",
        "string",
        "phonenumber",
        "contactinformation",
        False,
        None,
    ),
    "company": ("Company Name", *_TEXT, "contactinformation", False, None),
    "jobtitle": ("Job Title", *_TEXT, "contactinformation", False, None),
    "website": ("Website URL", *_TEXT, "contactinformation", False, None),
    "city": ("City", *_TEXT, "contactinformation", False, None),
    "country": ("Country/Region", *_TEXT, "contactinformation", False, None),
    "hubspot_owner_id": ("Contact owner", *_TEXT, "sales_properties", False, None),
    "lifecyclestage": (
        "Lifecycle Stage",
        "enumeration",
        "radio",
        "contactinformation",
        False,
        LIFECYCLE_STAGES,
    ),
    "hs_lead_status": (
        "Lead Status",
        "enumeration",
        "radio",
        "sales_properties",
        False,
        LEAD_STATUSES,
    ),
    "createdate": ("Create Date", *_DT, "contactinformation", True, None),
    "lastmodifieddate": ("Last Modified Date", *_DT, "contactinformation", True, None),
    "hs_object_id": ("Record ID", *_NUM, "contactinformation", True, None),
    "notes_last_updated": ("Last Activity Date", *_DT, "sales_properties", True, None),
    "notes_last_contacted": ("Last Contacted", *_DT, "sales_properties", True, None),
    "num_contacted_notes": (
        "Number of times contacted",
        *_NUM,
        "sales_properties",
        True,
        None,
    ),
    "num_associated_deals": ("Associated Deals", *_NUM, "sales_properties", True, None),
    "hs_email_delivered": (
        "Marketing emails delivered",
        *_NUM,
        "emailinformation",
        True,
        None,
    ),
    "hs_email_open": ("Marketing emails opened", *_NUM, "emailinformation", True, None),
    "hs_email_click": (
        "Marketing emails clicked",
        *_NUM,
        "emailinformation",
        True,
        None,
    ),
    "hs_email_bounce": (
        "Marketing emails bounced",
        *_NUM,
        "emailinformation",
        True,
        None,
    ),
    "hs_email_last_open_date": (
        "Last marketing email open date",
        *_DT,
        "emailinformation",
        True,
        None,
    ),
    "hs_email_last_click_date": (
        "Last marketing email click date",
        *_DT,
        "emailinformation",
        True,
        None,
    ),
    "hs_email_hard_bounce_reason_enum": (
        "Email hard bounce reason",
        "enumeration",
        "select",
        "emailinformation",
        True,
        ["MAILBOX_FULL", "UNKNOWN_USER", "CONTENT", "SPAM", "POLICY", "OTHER"],
    ),
    "hs_analytics_source": (
        "Original Source",
        "enumeration",
        "select",
        "analyticsinformation",
        True,
        ANALYTICS_SOURCES,
    ),
    "hs_analytics_num_page_views": (
        "Number of Pageviews",
        *_NUM,
        "analyticsinformation",
        True,
        None,
    ),
    "hs_analytics_num_visits": (
        "Number of Sessions",
        *_NUM,
        "analyticsinformation",
        True,
        None,
    ),
}

DEAL_PROPERTIES: dict[str, _Spec] = {
    "dealname": ("Deal Name", *_TEXT, "dealinformation", False, None),
    "amount": ("Amount", *_NUM, "dealinformation", False, None),
    "closedate": ("Close Date", *_DT, "dealinformation", False, None),
    "pipeline": ("Pipeline", "enumeration", "select", "dealinformation", False, None),
    "dealstage": ("Deal Stage", "enumeration", "radio", "dealinformation", False, None),
    "dealtype": (
        "Deal Type",
        "enumeration",
        "radio",
        "dealinformation",
        False,
        ["newbusiness", "existingbusiness"],
    ),
    "hubspot_owner_id": ("Deal owner", *_TEXT, "dealinformation", False, None),
    "createdate": ("Create Date", *_DT, "dealinformation", True, None),
    "hs_lastmodifieddate": ("Last Modified Date", *_DT, "dealinformation", True, None),
    "hs_object_id": ("Record ID", *_NUM, "dealinformation", True, None),
    "hs_is_closed": (
        "Is Deal Closed?",
        "bool",
        "booleancheckbox",
        "dealinformation",
        True,
        None,
    ),
    "hs_is_closed_won": (
        "Is closed won",
        "bool",
        "booleancheckbox",
        "dealinformation",
        True,
        None,
    ),
    "hs_deal_stage_probability": (
        "Deal probability",
        *_NUM,
        "dealinformation",
        True,
        None,
    ),
    "num_associated_contacts": (
        "Number of Associated Contacts",
        *_NUM,
        "dealinformation",
        True,
        None,
    ),
}

DEFAULT_SEARCH_PROPERTIES = {
    "contacts": [
        "createdate",
        "email",
        "firstname",
        "hs_object_id",
        "lastmodifieddate",
        "lastname",
    ],
    "deals": [
        "amount",
        "closedate",
        "createdate",
        "dealname",
        "dealstage",
        "hs_lastmodifieddate",
        "hs_object_id",
        "pipeline",
    ],
}
LAST_MODIFIED = {"contacts": "lastmodifieddate", "deals": "hs_lastmodifieddate"}
TEXT_QUERY_PROPERTIES = {
    "contacts": ["email", "firstname", "lastname", "phone", "company", "website"],
    "deals": ["dealname"],
}

# (id, label, probability, isClosed)
DEFAULT_PIPELINE_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", "0.2", False),
    ("qualifiedtobuy", "Qualified To Buy", "0.4", False),
    ("presentationscheduled", "Presentation Scheduled", "0.6", False),
    ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", False),
    ("contractsent", "Contract Sent", "0.9", False),
    ("closedwon", "Closed Won", "1.0", True),
    ("closedlost", "Closed Lost", "0.0", True),
]


def property_definition(
    name: str, spec: _Spec, created_at: str, hubspot_defined: bool = True
) -> dict[str, Any]:
    """Build a v3 `Property` body from a compact spec."""
    label, type_, field_type, group, read_only, options = spec
    return {
        "name": name,
        "label": label,
        "type": type_,
        "fieldType": field_type,
        "description": "",
        "groupName": group,
        "options": [
            {
                "label": value.replace("_", " ").title(),
                "value": value,
                "displayOrder": index,
                "hidden": False,
                "description": "",
            }
            for index, value in enumerate(options or [])
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name == "email",
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "showCurrencySymbol": name == "amount",
        "modificationMetadata": {
            "archivable": not hubspot_defined,
            "readOnlyDefinition": hubspot_defined,
            "readOnlyValue": read_only,
            "readOnlyOptions": hubspot_defined and options is not None,
        },
        "createdAt": created_at,
        "updatedAt": created_at,
        "archived": False,
    }
