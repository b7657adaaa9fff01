"""The one interface between the services and any CRM: our dataclasses, one error
hierarchy, and the `CrmAccount` Protocol every adapter implements.

Adapters (HubSpot, Uspacy) translate their CRM's records, ids and failures into
these types, so the services never see an SDK object or an HTTP status. Every id
is a string: HubSpot ids are 64-bit and Uspacy's are integers, and a string holds
both without loss.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

ObjectType = Literal["contacts", "leads", "deals"]
Outcome = Literal["won", "lost", "open"]
# Our field keys, in the order the CRM shows the fields; FieldSetup.codes maps
# each to the CRM's own field name or code.
FIELD_KEYS = ("score", "label", "top_factors", "explanation", "method", "scored_at")
# Outcome signals a record itself can show, each named by the feedback action it
# becomes: "converted" (e.g. a customer lifecycle stage where deals are not used),
# "bounced" (hard bounce), "replied", "clicked".
SIGNALS = ("converted", "bounced", "replied", "clicked")


# A record that closes by itself (a lead in its funnel's won or lost stage) is
# both the "deal" and its only "contact" of its outcome, under one id that
# names its type: `read_deal` of an adapter that reports such records reads
# "leads:101" as lead 101's stage.
OWN_OUTCOME_SEPARATOR = ":"


def own_outcome_id(object_type: str, record_id: str) -> str:
    """The deal (and contact) id of a record's own outcome."""
    return f"{object_type}{OWN_OUTCOME_SEPARATOR}{record_id}"


def record_of(outcome_id: str) -> tuple[str, str]:
    """(object type, record id) a ledger contact id names: a contact, or a
    record named by `own_outcome_id`."""
    object_type, separator, record_id = outcome_id.partition(OWN_OUTCOME_SEPARATOR)
    return (object_type, record_id) if separator else ("contacts", outcome_id)


@dataclass(frozen=True, slots=True)
class Tokens:
    """An account's OAuth tokens; `expires_at` is UTC-aware."""

    access_token: str
    refresh_token: str
    expires_at: datetime
    scopes: frozenset[str]

    def __repr__(self) -> str:
        # Tokens end up in logs through reprs of whatever holds them.
        return f"Tokens(expires_at={self.expires_at!r}, scopes={sorted(self.scopes)})"


@dataclass(frozen=True, slots=True)
class Installation:
    """What an install or a code exchange yields: the account and who installed."""

    account_id: str
    tokens: Tokens
    user_email: str | None
    user_id: str | None
    account_domain: str | None


@dataclass(frozen=True, slots=True)
class RecordRef:
    """One CRM record: `object_type` is ours ("contacts", "leads", "deals")."""

    object_type: str
    record_id: str


@dataclass(frozen=True, slots=True)
class StoredScore:
    """Our fields' values as the CRM holds them now (None: unset or unreadable)."""

    score: int | None
    label: str | None
    top_factors: str | None
    explanation: str | None
    method: str | None
    scored_at: datetime | None


@dataclass(frozen=True, slots=True)
class CrmContact:
    """A contact (or lead) already mapped to the scoring engine's lead fields."""

    ref: RecordRef
    lead: dict[str, Any]
    stored: StoredScore
    company_id: str | None
    updated_at: datetime | None
    # Outcome signals the CRM shows on the record now (a subset of SIGNALS), as
    # the adapter reads them; the services turn a signal that newly appears into
    # feedback once.
    signals: frozenset[str] = frozenset()
    # The records this one became in the CRM (a lead converted into a contact):
    # when it first shows "converted", its score history goes to them too.
    became: tuple[RecordRef, ...] = ()


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of a backfill; `next_cursor` None means the end."""

    contacts: list[CrmContact]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class ScoreWrite:
    """A score to write back to one record."""

    ref: RecordRef
    score: int
    label: str
    top_factors: str
    explanation: str
    method: str
    scored_at: datetime


@dataclass(frozen=True, slots=True)
class WriteFailure:
    """A record whose score was not written, and whether trying again may help."""

    ref: RecordRef
    reason: str
    retryable: bool


@dataclass(frozen=True, slots=True)
class FieldSetup:
    """Our fields created now / already there, and their names in the CRM."""

    created: list[str]
    existing: list[str]
    codes: dict[str, str]


@dataclass(frozen=True, slots=True)
class Deal:
    """A deal's current stage, classified from the CRM's pipeline metadata."""

    deal_id: str
    stage_id: str
    pipeline_id: str | None
    outcome: Outcome
    contact_ids: list[str]
    closed_at: datetime | None


class CrmError(Exception):
    """Any CRM failure; `retryable` tells whether the same call may succeed later."""

    retryable: bool = False

    def __init__(self, message: str = "", *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class AuthExpired(CrmError):
    """The access token was refused: refresh once and retry."""


class AccessRevoked(CrmError):
    """The install is gone (refresh refused, or refused again after a refresh):
    mark the account uninstalled and stop calling it."""


class ScopeMissing(CrmError):
    """The account did not grant a scope this call needs."""

    def __init__(self, message: str = "", scopes: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.scopes = tuple(scopes)


class RateLimited(CrmError):
    """The CRM's rate limit was hit; wait `retry_after` seconds when known."""

    retryable = True

    def __init__(self, message: str = "", retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class CrmUnavailable(CrmError):
    """The CRM failed or could not be reached (5xx, timeout, connection error)."""

    retryable = True


class Rejected(CrmError):
    """The CRM refused the request for good; carries its message (ids only, no
    tokens or personal data)."""


class AccessTokens(Protocol):
    """Valid access tokens of one account, kept by the services layer."""

    def current(self) -> str:
        """A valid access token (refreshed before expiry, under a lock)."""
        ...

    def refreshed(self, stale: str) -> str:
        """After AuthExpired: a token newer than `stale` (one refresh serves many
        callers); raises AccessRevoked when the install is gone."""
        ...


class CrmAccount(Protocol):
    """One installed CRM account, as the services use it."""

    # Our object types this CRM's records are scored as, in the order a
    # backfill walks them (HubSpot: contacts; Uspacy: leads, then contacts).
    scored_types: tuple[str, ...]

    def ensure_fields(self) -> FieldSetup:
        """Create our field group and fields where missing (idempotent)."""
        ...

    def read_contacts(self, refs: Sequence[RecordRef]) -> list[CrmContact]:
        """Batch-read records; ids that do not exist are left out."""
        ...

    def list_contacts(
        self, object_type: str, cursor: str | None, limit: int = 100
    ) -> RecordPage:
        """One page of every record of a type, for the backfill."""
        ...

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteFailure]:
        """Write scores in batches; the records that failed, each with a reason."""
        ...

    def read_deal(self, deal_id: str) -> Deal | None:
        """A deal's stage, outcome and contacts, or None when it does not exist."""
        ...

    def uninstall(self) -> None:
        """Remove the app from the account (the app's Disconnect)."""
        ...
