"""The ten factors: keys, display names and baseline weights, in fixed order."""

FACTOR_KEYS: tuple[str, ...] = (
    "lead_source",
    "has_valid_email",
    "has_company_match",
    "industry_match",
    "days_since_created",
    "lead_status",
    "engagement_score",
    "profile_completeness",
    "company_size_bucket",
    "recency_score",
)

FACTOR_NAMES: dict[str, str] = {
    "lead_source": "Lead Source",
    "has_valid_email": "Valid Email",
    "has_company_match": "Company Match",
    "industry_match": "Industry Match",
    "days_since_created": "Recency",
    "lead_status": "Lead Status",
    "engagement_score": "Engagement",
    "profile_completeness": "Profile Complete",
    "company_size_bucket": "Company Size",
    "recency_score": "Activity Recency",
}

# The baseline every new client starts from (the published example weights).
DEFAULT_WEIGHTS: dict[str, float] = dict(
    zip(
        FACTOR_KEYS,
        (0.10, 0.10, 0.15, 0.05, 0.10, 0.10, 0.10, 0.15, 0.10, 0.05),
        strict=True,
    )
)

STATUS_VALUES: dict[str, float] = {
    "qualified": 1.0,
    "in_progress": 0.7,
    "open": 0.5,
    "new": 0.3,
    "unqualified": 0.1,
}
UNKNOWN_STATUS_VALUE = 0.5

# Seniority by job-title keyword, checked in this order (first match wins).
SENIORITY_LEVELS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("ceo", "founder", "owner"), 1.0),
    (("director", "vp", "chief"), 0.8),
    (("manager", "head"), 0.6),
)
OTHER_TITLE_VALUE = 0.3

RECENCY_WINDOW_DAYS = 90
ACTIVE_NOTES_DAYS = 30
HAS_DEALS_VALUE = 0.7
RECENT_NOTES_VALUE = 0.5
INACTIVE_VALUE = 0.2
