"""Option values of HubSpot's default enumeration properties, as a portal has
them: lead statuses, lifecycle stages, original sources, company industries,
contact company sizes and email hard bounce reasons.

Values follow HubSpot's internal option names; labels are HubSpot's wording
where it is known and a title-cased value otherwise.
"""

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

# A realistic subset of the ~150 options of the company property `industry`
# (value, label). A portal rejects any other value, as HubSpot does.
INDUSTRIES = [
    ("ACCOUNTING", "Accounting"),
    ("AIRLINES_AVIATION", "Airlines/Aviation"),
    ("APPAREL_FASHION", "Apparel & Fashion"),
    ("ARCHITECTURE_PLANNING", "Architecture & Planning"),
    ("AUTOMOTIVE", "Automotive"),
    ("BANKING", "Banking"),
    ("BIOTECHNOLOGY", "Biotechnology"),
    ("CHEMICALS", "Chemicals"),
    ("COMPUTER_HARDWARE", "Computer Hardware"),
    ("COMPUTER_NETWORK_SECURITY", "Computer & Network Security"),
    ("COMPUTER_SOFTWARE", "Computer Software"),
    ("CONSTRUCTION", "Construction"),
    ("CONSUMER_GOODS", "Consumer Goods"),
    ("CONSUMER_SERVICES", "Consumer Services"),
    ("E_LEARNING", "E-Learning"),
    ("EDUCATION_MANAGEMENT", "Education Management"),
    ("ENTERTAINMENT", "Entertainment"),
    ("FINANCIAL_SERVICES", "Financial Services"),
    ("FOOD_BEVERAGES", "Food & Beverages"),
    ("FOOD_PRODUCTION", "Food Production"),
    ("GOVERNMENT_ADMINISTRATION", "Government Administration"),
    ("HEALTH_WELLNESS_AND_FITNESS", "Health, Wellness and Fitness"),
    ("HIGHER_EDUCATION", "Higher Education"),
    ("HOSPITAL_HEALTH_CARE", "Hospital & Health Care"),
    ("HOSPITALITY", "Hospitality"),
    ("HUMAN_RESOURCES", "Human Resources"),
    ("INFORMATION_TECHNOLOGY_AND_SERVICES", "Information Technology and Services"),
    ("INSURANCE", "Insurance"),
    ("INTERNET", "Internet"),
    ("INVESTMENT_MANAGEMENT", "Investment Management"),
    ("LEGAL_SERVICES", "Legal Services"),
    ("LOGISTICS_AND_SUPPLY_CHAIN", "Logistics and Supply Chain"),
    ("MANAGEMENT_CONSULTING", "Management Consulting"),
    ("MARKETING_AND_ADVERTISING", "Marketing and Advertising"),
    ("MECHANICAL_OR_INDUSTRIAL_ENGINEERING", "Mechanical or Industrial Engineering"),
    ("MEDICAL_DEVICES", "Medical Devices"),
    ("NONPROFIT_ORGANIZATION_MANAGEMENT", "Non-Profit Organization Management"),
    ("PHARMACEUTICALS", "Pharmaceuticals"),
    ("REAL_ESTATE", "Real Estate"),
    ("RESTAURANTS", "Restaurants"),
    ("RETAIL", "Retail"),
    ("STAFFING_AND_RECRUITING", "Staffing and Recruiting"),
    ("TELECOMMUNICATIONS", "Telecommunications"),
    ("TRANSPORTATION_TRUCKING_RAILROAD", "Transportation/Trucking/Railroad"),
    ("VENTURE_CAPITAL_PRIVATE_EQUITY", "Venture Capital & Private Equity"),
    ("WHOLESALE", "Wholesale"),
]

# The contact property `numemployees` ("Number of Employees"): ranges, not a count.
EMPLOYEE_RANGES = [
    ("1-5", "1-5"),
    ("5-25", "5-25"),
    ("25-50", "25-50"),
    ("50-100", "50-100"),
    ("100-500", "100-500"),
    ("500-1000", "500-1000"),
    ("1000+", "1000+"),
]

# `hs_email_hard_bounce_reason_enum`: HubSpot does not publish its option list;
# these are the reasons its bounce reports name (a guess at the exact values).
BOUNCE_REASONS = [
    "MAILBOX_FULL",
    "UNKNOWN_USER",
    "CONTENT",
    "SPAM",
    "POLICY",
    "DNS_FAILURE",
    "TIMEOUT",
    "OTHER",
]
