"""The Config API: POST /config (register, profile, weights) and POST /feedback."""

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError

from app.services.learning.config import ConfigApiError
from app.web.errors import json_error

bp = Blueprint("config_api", __name__)


class ProfileInput(BaseModel):
    """Stated attributes of the account; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    industry: str | None = None
    company_size: str | int | None = None
    country: str | None = None
    icp_industries: list[str] | None = None
    icp_company_sizes: str | int | None = None


class ConfigRequest(BaseModel):
    email: StrictStr = Field(min_length=3, max_length=320)
    api_key: StrictStr | None = None
    profile: ProfileInput | None = None


class FeedbackRequest(BaseModel):
    api_key: StrictStr = Field(min_length=1)
    client_id: StrictStr = Field(min_length=1)
    lead_id: StrictStr | int = Field()
    action: StrictStr
    factors: dict[str, float] | None = None


def _parse(model: type[BaseModel]) -> Any:
    try:
        payload = orjson.loads(request.get_data(cache=False))
    except orjson.JSONDecodeError as error:
        raise ConfigApiError(400, f"Invalid request body: {error}") from None
    if isinstance(payload, dict) and model is FeedbackRequest:
        if not payload.get("api_key") or not payload.get("client_id"):
            raise ConfigApiError(401, "api_key and client_id required")
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}"
            for e in error.errors()
        )
        raise ConfigApiError(400, f"Invalid request body: {problems}") from None


def _reply(body: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@bp.errorhandler(ConfigApiError)
def _config_error(error: ConfigApiError) -> Response:
    return json_error(error.status, error.message)


@bp.post("/config")
def get_config() -> Response:
    """Register (first call, returns the API key once) or fetch current weights."""
    parsed: ConfigRequest = _parse(ConfigRequest)
    config_api = current_app.extensions.get("conturs.config_api")
    if config_api is None:
        raise ConfigApiError(
            404,
            "This scoring service gets its weights from CONFIG_API_URL; "
            "register and configure there",
        )
    profile = parsed.profile.model_dump(exclude_unset=True) if parsed.profile else None
    body = config_api.get_config(parsed.email, parsed.api_key, profile)
    return _reply(body, 201 if body["is_new_client"] else 200)


@bp.post("/feedback")
def post_feedback() -> Response:
    """Record an outcome of a lead; duplicates are acknowledged and ignored."""
    parsed: FeedbackRequest = _parse(FeedbackRequest)
    feedback = current_app.extensions["conturs.feedback"]
    body = feedback.record_feedback(
        parsed.api_key,
        parsed.client_id,
        str(parsed.lead_id),
        parsed.action,
        parsed.factors,
    )
    return _reply(body, 202 if body["status"] == "queued" else 200)
