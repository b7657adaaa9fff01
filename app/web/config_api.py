"""The Config API: POST /config (register, profile, weights), POST /feedback and
DELETE /feedback (take outcomes of a lead back)."""

from typing import Annotated, Any

import orjson
from flask import Blueprint, Response, current_app, request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictStr,
    ValidationError,
)

from app.container import services_of
from app.personalization.profile import MAX_ICP_INDUSTRIES, MAX_PROFILE_TEXT_CHARS
from app.services.errors import InvalidInput, NotAuthenticated, NotFound
from app.services.learning.feedback import (
    check_action,
    check_factors,
    remove_outcomes,
)
from app.web.fast_path import decode_json, read_body
from app.web.identity import (
    ApiKey,
    ClientId,
    Email,
    LeadId,
    Storable,
    text_or_integer,
)

bp = Blueprint("config_api", __name__)


# Profile text: short, storable; sizes are strings or integers, never booleans.
ProfileText = Annotated[StrictStr, Field(max_length=MAX_PROFILE_TEXT_CHARS), Storable]
SizeInput = Annotated[str | int, text_or_integer(MAX_PROFILE_TEXT_CHARS)]


class ProfileInput(BaseModel):
    """Stated attributes of the account; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    industry: ProfileText | None = None
    company_size: SizeInput | None = None
    country: ProfileText | None = None
    icp_industries: (
        Annotated[list[ProfileText], Field(max_length=MAX_ICP_INDUSTRIES)] | None
    ) = None
    icp_company_sizes: SizeInput | None = None


class ConfigRequest(BaseModel):
    email: Email
    api_key: ApiKey | None = None
    profile: ProfileInput | None = None


class FeedbackRequest(BaseModel):
    api_key: ApiKey
    client_id: ClientId
    lead_id: LeadId  # a string or an integer
    action: Annotated[StrictStr, Field(max_length=32)]  # one of five short words
    factors: dict[str, StrictFloat] | None = None  # numbers only, never true/false


class FeedbackRemoval(BaseModel):
    api_key: ApiKey
    client_id: ClientId
    lead_id: LeadId
    # One action retracts that outcome; none forgets every outcome of the lead.
    action: Annotated[StrictStr, Field(max_length=32)] | None = None


# Routes whose missing credentials are 401 before the body is validated.
_AUTHENTICATED = (FeedbackRequest, FeedbackRemoval)


def _parse(model: type[BaseModel]) -> Any:
    if request.content_length is not None:  # Flask refuses it above the limit
        body = request.get_data(cache=False)
    else:  # chunked: Flask would cut it at the limit, so it is read with one
        body = read_body(request.environ, current_app.config["MAX_BODY_BYTES"])
    payload = decode_json(body)
    if isinstance(payload, dict) and model in _AUTHENTICATED:
        if not payload.get("api_key") or not payload.get("client_id"):
            raise NotAuthenticated("api_key and client_id required")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
            for e in error.errors()
        )
        raise InvalidInput(f"Invalid request body: {problems}") from None


def _reply(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@bp.post("/config")
def get_config() -> Response:
    """Register (first call, returns the API key once) or fetch current weights."""
    parsed: ConfigRequest = _parse(ConfigRequest)
    accounts = services_of(current_app).accounts
    if accounts is None:
        raise NotFound(
            "This scoring service gets its weights from CONFIG_API_URL; "
            "register and configure there"
        )
    profile = parsed.profile.model_dump(exclude_unset=True) if parsed.profile else None
    view = accounts.get_config(parsed.email, parsed.api_key, profile)
    if view.check_your_email:  # email verification: the same answer for any address
        return _reply({"status": "check_your_email"}, 202)
    body = {**view.body, "is_new_client": view.is_new_client}
    if view.refit_pending:
        body["refit_pending"] = True
    if view.api_key is not None:
        body["api_key"] = view.api_key
    return _reply(body, 201 if view.is_new_client else 200)


@bp.post("/feedback")
def post_feedback() -> Response:
    """Record an outcome of a lead; duplicates are acknowledged and ignored."""
    parsed: FeedbackRequest = _parse(FeedbackRequest)
    services = services_of(current_app)
    check_action(parsed.action)
    config = services.scoring.authenticate(parsed.api_key, parsed.client_id)
    values = check_factors(parsed.factors) if parsed.factors is not None else None
    receipt = services.feedback.record_outcome(
        config.client_id,
        services.lead_keys.for_lead_id(str(parsed.lead_id)),
        parsed.action,
        values,
        api_key=parsed.api_key,
    )
    body: dict[str, Any] = {
        "status": receipt.status,
        "client_id": receipt.client_id,
        "action": receipt.action,
        "reward": receipt.reward,
    }
    if receipt.status == "queued":
        return _reply(body, 202)
    body["refit_due"] = receipt.refit_due
    return _reply(body)


@bp.delete("/feedback")
def delete_feedback() -> Response:
    """Retract one outcome of a lead (`action`), or forget every outcome of it."""
    parsed: FeedbackRemoval = _parse(FeedbackRemoval)
    services = services_of(current_app)
    if parsed.action is not None:
        check_action(parsed.action)
    config = services.scoring.authenticate(parsed.api_key, parsed.client_id)
    removed = remove_outcomes(
        services.feedback,
        config.client_id,
        services.lead_keys.for_lead_id(str(parsed.lead_id)),
        parsed.action,
        api_key=parsed.api_key,
    )
    if services.outbox is not None:  # forwarded to the Config API, not done yet
        return _reply({"status": "queued"}, 202)
    return _reply({"deleted": removed})
