"""The seed-compatible scoring API: GET /health, POST /leads, GET /openapi.json."""

from importlib import resources

import orjson
from flask import Blueprint, Response, current_app, request

from app.services.lead_scoring import LeadScoringService, ScoringRequestError
from app.web.errors import json_error

bp = Blueprint("api", __name__)

_HEALTH = orjson.dumps(
    {"status": "healthy", "service": "scoring-service", "version": "0.1.0"}
)


@bp.get("/health")
def health() -> Response:
    """Liveness: answers without touching the database or the network."""
    return Response(_HEALTH, mimetype="application/json")


@bp.post("/leads")
def score_leads() -> Response:
    """Score a batch of leads with the caller's weights."""
    service: LeadScoringService = current_app.extensions["conturs.lead_scoring"]
    try:
        body = service.score_body(request.get_data(cache=False))
    except ScoringRequestError as error:
        return json_error(error.status, error.message)
    return Response(body, mimetype="application/json")


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of the public API."""
    document = resources.files("app.web").joinpath("openapi.json").read_bytes()
    return Response(document, mimetype="application/json")
