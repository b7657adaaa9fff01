"""The example request of the reference service's README, shared by the tests."""

EXAMPLE_LEADS = [
    {
        "email": "john.doe@techcorp.com",
        "first_name": "John",
        "last_name": "Doe",
        "company": "TechCorp Inc",
        "job_title": "CEO",
        "industry": "Technology",
        "phone": "+1-555-123-4567",
        "city": "San Francisco",
        "country": "USA",
        "lead_status": "qualified",
        "email_open_count": 12,
        "email_click_count": 5,
        "num_deals": 2,
        "create_date": "2024-12-01",
        "notes_last_updated": "2025-01-10",
    },
    {
        "email": "jane@startup.io",
        "company": "Startup.io",
        "job_title": "Marketing Manager",
        "lead_status": "open",
        "email_open_count": 3,
    },
]

JOHN, JANE = EXAMPLE_LEADS
