"""SQLAlchemy 2.0 typed models. Models never commit and never call out over HTTP."""

from app.models.base import Base
from app.models.client import ApiKey, Client
from app.models.crm import CrmAccount, UsedInstallState
from app.models.learning import Feedback, LeadSnapshot, ScoreHistory, WeightVersion
from app.models.outcomes import CrmContactOutcome, CrmDealContact
from app.models.remote import CachedConfig, OutboxMessage
from app.models.sync import CrmEvent, CrmRecord, CrmSync

__all__ = [
    "ApiKey",
    "Base",
    "CachedConfig",
    "Client",
    "CrmAccount",
    "CrmContactOutcome",
    "CrmDealContact",
    "CrmEvent",
    "CrmRecord",
    "CrmSync",
    "Feedback",
    "LeadSnapshot",
    "OutboxMessage",
    "ScoreHistory",
    "UsedInstallState",
    "WeightVersion",
]
