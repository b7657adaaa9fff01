"""CRM adapters behind one small interface (`app.crm.base`).

The services import the dataclasses, errors and Protocols from here; each CRM
lives in its own subpackage (`app.crm.hubspot`) and returns only these types.
"""

from app.crm.base import (
    FIELD_KEYS,
    AccessRevoked,
    AccessTokens,
    AuthExpired,
    CrmAccount,
    CrmContact,
    CrmError,
    CrmUnavailable,
    Deal,
    FieldSetup,
    Installation,
    RateLimited,
    RecordPage,
    RecordRef,
    Rejected,
    ScopeMissing,
    ScoreWrite,
    StoredScore,
    Tokens,
    WriteFailure,
)

__all__ = [
    "FIELD_KEYS",
    "AccessRevoked",
    "AccessTokens",
    "AuthExpired",
    "CrmAccount",
    "CrmContact",
    "CrmError",
    "CrmUnavailable",
    "Deal",
    "FieldSetup",
    "Installation",
    "RateLimited",
    "RecordPage",
    "RecordRef",
    "Rejected",
    "ScopeMissing",
    "ScoreWrite",
    "StoredScore",
    "Tokens",
    "WriteFailure",
]
