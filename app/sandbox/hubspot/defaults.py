"""What a fresh HubSpot portal already has, beyond its properties
(`default_properties.py`): the object types the sandbox serves, property groups,
the properties search returns by default, association types, and the default
deal pipeline.
"""

OBJECT_TYPES = ("contacts", "companies", "deals")
OBJECT_TYPE_IDS = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
PLURAL = {singular: plural for plural, singular in SINGULAR.items()}

GROUPS = {
    "contacts": [
        ("contactinformation", "Contact information"),
        ("emailinformation", "Email information"),
        ("analyticsinformation", "Web analytics history"),
        ("sales_properties", "Sales properties"),
    ],
    "companies": [("companyinformation", "Company information")],
    "deals": [("dealinformation", "Deal information")],
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
    "companies": [
        "createdate",
        "domain",
        "hs_lastmodifieddate",
        "hs_object_id",
        "name",
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
LAST_MODIFIED = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
TEXT_QUERY_PROPERTIES = {
    "contacts": ["email", "firstname", "lastname", "phone", "company", "website"],
    "companies": ["name", "domain", "website", "phone"],
    "deals": ["dealname"],
}

# HubSpot-defined association type ids (from type, to type): the unlabelled
# association, and the primary one where HubSpot has it (a contact's primary
# company: 1 contact→company, 2 company→contact).
ASSOCIATION_TYPES = {
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
}
PRIMARY_ASSOCIATION_TYPES = {("contacts", "companies"): 1, ("companies", "contacts"): 2}
# The read-only count a record keeps of its associations with another type.
ASSOCIATION_COUNTS = {
    ("contacts", "deals"): "num_associated_deals",
    ("deals", "contacts"): "num_associated_contacts",
    ("companies", "contacts"): "num_associated_contacts",
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
