"""A client's profile: enrichment from its email plus what it stated."""

from collections.abc import Mapping

from app.models import Client
from app.personalization.profile import (
    ClientProfile,
    check_stated,
    profile_from_email,
    with_stated,
)
from app.services.learning.clients import ClientError

STATED_FIELDS = (
    "industry",
    "company_size",
    "country",
    "icp_industries",
    "icp_company_sizes",
)


def profile_of(client: Client) -> ClientProfile:
    """The normalised profile the personalization layer works with."""
    return with_stated(
        profile_from_email(client.email), **(client.stated_profile or {})
    )


def update_stated_profile(client: Client, changes: Mapping[str, object]) -> None:
    """Validate and apply stated attributes (None clears one); caller commits."""
    unknown = sorted(set(changes) - set(STATED_FIELDS))
    if unknown:
        raise ClientError(
            f"unknown profile field(s) {', '.join(unknown)}; "
            f"valid fields: {', '.join(STATED_FIELDS)}"
        )
    stated = {**(client.stated_profile or {}), **changes}
    stated = {key: value for key, value in stated.items() if value is not None}
    try:
        check_stated(changes)
        profile = with_stated(profile_from_email(client.email), **stated)
    except ValueError as error:
        raise ClientError(f"invalid profile: {error}") from None
    if "icp_industries" in stated:  # stored as what it means: distinct verticals
        stated["icp_industries"] = sorted(profile.icp_industries)
    client.stated_profile = stated
    client.vertical = profile.vertical
