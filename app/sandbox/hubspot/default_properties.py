"""The default properties of a fresh portal's contacts, companies and deals that
the sandbox knows, as compact specs, and their v3 `Property` bodies.

Names, types and option values follow HubSpot's documented defaults; labels are
abbreviated. Values HubSpot computes itself (dates, counts, email statistics)
are read-only to the API, as in HubSpot.
"""

from typing import Any

from app.sandbox.hubspot.options import (
    ANALYTICS_SOURCES,
    BOUNCE_REASONS,
    EMPLOYEE_RANGES,
    INDUSTRIES,
    LEAD_STATUSES,
    LIFECYCLE_STAGES,
)

Options = list[str] | list[tuple[str, str]] | None
# name: (label, type, fieldType, group, read-only value, options)
Spec = tuple[str, str, str, str, bool, Options]
_TEXT = ("string", "text")
_NUM = ("number", "number")
_DT = ("datetime", "date")
_BOOL = ("bool", "booleancheckbox")
_CONTACT = "contactinformation"
_EMAIL = "emailinformation"
_ANALYTICS = "analyticsinformation"
_SALES = "sales_properties"
_COMPANY = "companyinformation"
_DEAL = "dealinformation"

CONTACT_PROPERTIES: dict[str, Spec] = {
    "email": ("Email", *_TEXT, _CONTACT, False, None),
    "firstname": ("First Name", *_TEXT, _CONTACT, False, None),
    "lastname": ("Last Name", *_TEXT, _CONTACT, False, None),
    "phone": ("Phone Number", "string", "phonenumber", _CONTACT, False, None),
    "company": ("Company Name", *_TEXT, _CONTACT, False, None),
    "jobtitle": ("Job Title", *_TEXT, _CONTACT, False, None),
    "website": ("Website URL", *_TEXT, _CONTACT, False, None),
    "city": ("City", *_TEXT, _CONTACT, False, None),
    "country": ("Country/Region", *_TEXT, _CONTACT, False, None),
    "industry": ("Industry", *_TEXT, _CONTACT, False, None),
    "numemployees": (
        "Number of Employees",
        "enumeration",
        "select",
        _CONTACT,
        False,
        EMPLOYEE_RANGES,
    ),
    # Kept in step with the primary company association both ways: writing it
    # makes that company the primary one (integrations have long done so).
    "associatedcompanyid": (
        "Primary Associated Company ID",
        *_NUM,
        _CONTACT,
        False,
        None,
    ),
    "hubspot_owner_id": ("Contact owner", *_TEXT, _SALES, False, None),
    "lifecyclestage": (
        "Lifecycle Stage",
        "enumeration",
        "radio",
        _CONTACT,
        False,
        LIFECYCLE_STAGES,
    ),
    "hs_lead_status": (
        "Lead Status",
        "enumeration",
        "radio",
        _SALES,
        False,
        LEAD_STATUSES,
    ),
    "createdate": ("Create Date", *_DT, _CONTACT, True, None),
    "lastmodifieddate": ("Last Modified Date", *_DT, _CONTACT, True, None),
    "hs_object_id": ("Record ID", *_NUM, _CONTACT, True, None),
    "notes_last_updated": ("Last Activity Date", *_DT, _SALES, True, None),
    "notes_last_contacted": ("Last Contacted", *_DT, _SALES, True, None),
    "num_contacted_notes": ("Number of times contacted", *_NUM, _SALES, True, None),
    "num_associated_deals": ("Associated Deals", *_NUM, _SALES, True, None),
    "hs_sales_email_last_replied": (
        "Recent Sales Email Replied Date",
        *_DT,
        _SALES,
        True,
        None,
    ),
    "hs_email_delivered": ("Marketing emails delivered", *_NUM, _EMAIL, True, None),
    "hs_email_open": ("Marketing emails opened", *_NUM, _EMAIL, True, None),
    "hs_email_click": ("Marketing emails clicked", *_NUM, _EMAIL, True, None),
    "hs_email_bounce": ("Marketing emails bounced", *_NUM, _EMAIL, True, None),
    "hs_email_last_open_date": (
        "Last marketing email open date",
        *_DT,
        _EMAIL,
        True,
        None,
    ),
    "hs_email_last_click_date": (
        "Last marketing email click date",
        *_DT,
        _EMAIL,
        True,
        None,
    ),
    "hs_email_hard_bounce_reason_enum": (
        "Email hard bounce reason",
        "enumeration",
        "select",
        _EMAIL,
        True,
        BOUNCE_REASONS,
    ),
    "hs_analytics_source": (
        "Original Source",
        "enumeration",
        "select",
        _ANALYTICS,
        True,
        ANALYTICS_SOURCES,
    ),
    "hs_analytics_num_page_views": (
        "Number of Pageviews",
        *_NUM,
        _ANALYTICS,
        True,
        None,
    ),
    "hs_analytics_num_visits": ("Number of Sessions", *_NUM, _ANALYTICS, True, None),
}

COMPANY_PROPERTIES: dict[str, Spec] = {
    "name": ("Company name", *_TEXT, _COMPANY, False, None),
    "domain": ("Company Domain Name", *_TEXT, _COMPANY, False, None),
    "website": ("Website URL", *_TEXT, _COMPANY, False, None),
    "phone": ("Phone Number", "string", "phonenumber", _COMPANY, False, None),
    "city": ("City", *_TEXT, _COMPANY, False, None),
    "country": ("Country/Region", *_TEXT, _COMPANY, False, None),
    "industry": ("Industry", "enumeration", "select", _COMPANY, False, INDUSTRIES),
    "numberofemployees": ("Number of Employees", *_NUM, _COMPANY, False, None),
    "annualrevenue": ("Annual Revenue", *_NUM, _COMPANY, False, None),
    "hubspot_owner_id": ("Company owner", *_TEXT, _COMPANY, False, None),
    "createdate": ("Create Date", *_DT, _COMPANY, True, None),
    "hs_lastmodifieddate": ("Last Modified Date", *_DT, _COMPANY, True, None),
    "hs_object_id": ("Record ID", *_NUM, _COMPANY, True, None),
    "num_associated_contacts": ("Associated Contacts", *_NUM, _COMPANY, True, None),
}

DEAL_PROPERTIES: dict[str, Spec] = {
    "dealname": ("Deal Name", *_TEXT, _DEAL, False, None),
    "amount": ("Amount", *_NUM, _DEAL, False, None),
    "closedate": ("Close Date", *_DT, _DEAL, False, None),
    "pipeline": ("Pipeline", "enumeration", "select", _DEAL, False, None),
    "dealstage": ("Deal Stage", "enumeration", "radio", _DEAL, False, None),
    "dealtype": (
        "Deal Type",
        "enumeration",
        "radio",
        _DEAL,
        False,
        ["newbusiness", "existingbusiness"],
    ),
    "hubspot_owner_id": ("Deal owner", *_TEXT, _DEAL, False, None),
    "createdate": ("Create Date", *_DT, _DEAL, True, None),
    "hs_lastmodifieddate": ("Last Modified Date", *_DT, _DEAL, True, None),
    "hs_object_id": ("Record ID", *_NUM, _DEAL, True, None),
    "hs_is_closed": ("Is Deal Closed?", *_BOOL, _DEAL, True, None),
    "hs_is_closed_won": ("Is closed won", *_BOOL, _DEAL, True, None),
    "hs_deal_stage_probability": ("Deal probability", *_NUM, _DEAL, True, None),
    "num_associated_contacts": (
        "Number of Associated Contacts",
        *_NUM,
        _DEAL,
        True,
        None,
    ),
}

PROPERTIES: dict[str, dict[str, Spec]] = {
    "contacts": CONTACT_PROPERTIES,
    "companies": COMPANY_PROPERTIES,
    "deals": DEAL_PROPERTIES,
}


def _option_pairs(options: Options) -> list[tuple[str, str]]:
    return [
        option
        if isinstance(option, tuple)
        else (option, option.replace("_", " ").title())
        for option in options or []
    ]


def property_definition(
    name: str, spec: Spec, created_at: str, hubspot_defined: bool = True
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
                "label": option_label,
                "value": value,
                "displayOrder": index,
                "hidden": False,
                "description": "",
            }
            for index, (value, option_label) in enumerate(_option_pairs(options))
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": False,
        "hasUniqueValue": name == "email",
        "hidden": False,
        "hubspotDefined": hubspot_defined,
        "formField": not read_only,
        "showCurrencySymbol": name in ("amount", "annualrevenue"),
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
