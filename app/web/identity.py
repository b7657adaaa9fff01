"""Limits on the fields that name a caller or a lead, checked at the edge.

`api_key`, `email`, `client_id` and `lead_id` reach per-process caches, log lines
and the database, so they are refused (400, naming the field) before anything sees
them when they are longer than any real value or hold text PostgreSQL cannot store
(NUL, lone surrogates). POST /leads checks them with `check_identity`; the Config
API's pydantic models use the annotated types below, which apply the same limits.
"""

from typing import Annotated

from pydantic import AfterValidator, Field, PlainValidator, StrictStr

from app.services.errors import InvalidInput

IDENTITY_LIMITS = {
    "api_key": 128,  # issued keys are "ck_" + 43 characters
    "email": 320,  # RFC 5321: 64 (local part) + "@" + 255 (domain)
    "client_id": 40,  # issued ids are "cl_" + 16 hex digits
    "lead_id": 320,  # a lead's email, or the integrator's own id for it
}


def unstorable(value: str) -> str | None:
    """Why a text column cannot hold `value`, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


def check_identity(field: str, value: str) -> None:
    """Refuse an identity field that is too long or cannot be stored (400)."""
    limit = IDENTITY_LIMITS[field]
    if len(value) > limit:
        raise InvalidInput(f"{field} is too long: at most {limit} characters")
    problem = unstorable(value)
    if problem is not None:
        raise InvalidInput(f"{field} {problem}")


def _storable(value: str) -> str:
    problem = unstorable(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# For pydantic models: text that can be stored, and the identity fields.
Storable = AfterValidator(_storable)
ApiKey = Annotated[
    StrictStr, Field(min_length=1, max_length=IDENTITY_LIMITS["api_key"]), Storable
]
Email = Annotated[
    StrictStr, Field(min_length=3, max_length=IDENTITY_LIMITS["email"]), Storable
]
ClientId = Annotated[
    StrictStr, Field(min_length=1, max_length=IDENTITY_LIMITS["client_id"]), Storable
]


def text_or_integer(max_length: int, min_length: int = 0) -> PlainValidator:
    """A pydantic validator for a field that is a storable string of bounded
    length or an integer, never a boolean or a fraction (one error naming the
    field, instead of one per member of a union)."""

    def check(value: object) -> str | int:
        if type(value) is int:
            return value
        # JSON Schema counts 5.0 as an integer, and so do we (exactly held ones).
        if type(value) is float and value.is_integer() and abs(value) <= 2**53:
            return int(value)
        if type(value) is not str:
            raise ValueError("must be a string or an integer")
        if len(value) < min_length:
            raise ValueError("must not be empty")
        if len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return _storable(value)

    return PlainValidator(check)


LeadId = Annotated[str | int, text_or_integer(IDENTITY_LIMITS["lead_id"], min_length=1)]
