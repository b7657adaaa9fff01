"""The scoring API's Flask routes: GET /health and GET /openapi.json.

POST /leads is answered in front of Flask by app.web.fast_path.
"""

from importlib import resources

import orjson
from flask import Blueprint, Response

bp = Blueprint("api", __name__)

_HEALTH = orjson.dumps(
    {"status": "healthy", "service": "scoring-service", "version": "0.1.0"}
)


@bp.get("/health")
def health() -> Response:
    """Liveness: answers without touching the database or the network."""
    return Response(_HEALTH, mimetype="application/json")


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of the public API."""
    document = resources.files("app.web").joinpath("openapi.json").read_bytes()
    return Response(document, mimetype="application/json")
