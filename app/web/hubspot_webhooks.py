"""POST /hubspot/webhooks: HubSpot's event deliveries, verified and stored in the
inbox within the request, worked on later by the sync worker.

The request makes no CRM call and scores nothing. Statuses follow HubSpot's
retry rule (it retries any non-2xx up to 10 times over a day):

- 401 for a missing, forged, stale or future-dated v3 signature;
- 400 for a signed body that is not JSON (no retry can fix it, and HubSpot's
  delivery log then shows the fault);
- 413 for a body above MAX_BODY_BYTES;
- 503 when the HubSpot app is not configured here, or the inbox cannot store
  (HubSpot retries, and the events are not lost);
- 200 for everything else signed, including events that are ignored (an
  unknown or uninstalled portal's, echoes of our own writes, malformed events):
  a retry would bring the same events again. The body counts them:
  {"stored": n, "duplicates": n, "dropped": n}.

No rate limit applies: the Config API's limits are set on their own routes only
(route_limits.py), and only HubSpot can sign a delivery.

The signed URL is the one HubSpot posted to: PUBLIC_BASE_URL plus the path and
query exactly as the request carried them.
"""

from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request

from app.container import public_base_url, services_of
from app.crm.hubspot.manifest import WEBHOOKS_PATH
from app.crm.hubspot.webhooks import parse_events, verify_signature
from app.models.base import utcnow
from app.web.errors import json_error
from app.web.fast_path import read_body

bp = Blueprint("hubspot_webhooks", __name__)


@bp.post(WEBHOOKS_PATH)
def receive() -> Response:
    """Verify a delivery, store its events once each, acknowledge."""
    services = services_of(current_app)
    hubspot, inbox = services.hubspot, services.hubspot_inbox
    if hubspot is None or inbox is None:
        return json_error(
            503,
            "The HubSpot app is not configured on this server "
            "(HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET)",
        )
    settings = current_app.config
    body = read_body(request.environ, settings["MAX_BODY_BYTES"])
    url = public_base_url(settings) + request_target(request.environ)
    if not verify_signature(
        hubspot.config, "POST", url, body, request.headers, utcnow()
    ):
        return json_error(401, "Missing or invalid HubSpot signature")
    try:
        events = parse_events(body)
    except ValueError:
        return json_error(400, "Invalid request body: not JSON")
    result = inbox.accept(events)
    return Response(
        orjson.dumps(
            {
                "stored": result.stored,
                "duplicates": result.duplicates,
                "dropped": result.dropped,
            }
        ),
        status=200,
        mimetype="application/json",
    )


def request_target(environ: dict[str, Any]) -> str:
    """The path and query as the client sent them, below the app's mount point.

    Escapes must stay as sent, since HubSpot signs them undecoded (but for the
    twelve it decodes): gunicorn's RAW_URI or Werkzeug's REQUEST_URI carry the
    raw target; the decoded PATH_INFO is only a fallback.
    """
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    if not raw.startswith("/"):
        # Absolute form (`POST http://host/path`), or no raw target at all.
        scheme_end = raw.find("://")
        slash = raw.find("/", scheme_end + 3) if scheme_end >= 0 else -1
        if slash >= 0:
            raw = raw[slash:]
        else:
            query = environ.get("QUERY_STRING", "")
            raw = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            raw += f"?{query}" if query else ""
    mount = environ.get("SCRIPT_NAME", "")
    if mount and raw.startswith(mount):
        raw = raw[len(mount) :]  # PUBLIC_BASE_URL names the mount point
    return raw
