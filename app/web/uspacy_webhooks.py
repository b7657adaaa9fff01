"""POST /uspacy/v1/webhooks/<key>: Uspacy's webhook deliveries to a portal's own
secret URL (the one its install registered), stored in the inbox within the
request and worked on later by the sync worker.

The request scores nothing and reads no record; only the handshake calls
Uspacy (to fetch its validation link). Statuses:

- 404 for a key of no installed portal (nothing is stored);
- 400 for a body that is not JSON, or a handshake without a usable link;
- 413 for a body above MAX_DELIVERY_BYTES;
- 503 when the Uspacy app is not configured here, or the handshake could not
  reach Uspacy (Uspacy sends it again);
- 200 for everything else, including events that are ignored (our own writes,
  other tables): a retry would bring the same events again. The body counts
  them: {"stored": n, "duplicates": n, "dropped": n, "confirmed": bool}.
"""

import orjson
from flask import Blueprint, Response, current_app, request

from app.container import services_of
from app.crm.uspacy.manifest import WEBHOOKS_PREFIX
from app.services.errors import InvalidInput, LimitExceeded, NotFound, Unavailable
from app.web.errors import json_error
from app.web.fast_path import read_body

bp = Blueprint("uspacy_webhooks", __name__)

# An event carries one record (with its previous state): far below this.
MAX_DELIVERY_BYTES = 1024 * 1024


@bp.post(WEBHOOKS_PREFIX + "<key>")
def receive(key: str) -> Response:
    """Store a delivery's events once each (or confirm the webhook); acknowledge."""
    uspacy = services_of(current_app).uspacy
    if uspacy is None:
        return json_error(
            503,
            "The Uspacy app is not configured on this server "
            "(USPACY_CLIENT_ID and USPACY_CLIENT_SECRET)",
        )
    limit = min(MAX_DELIVERY_BYTES, current_app.config["MAX_BODY_BYTES"])
    try:
        body = read_body(request.environ, limit)
        received = uspacy.receive(key, body)
    except NotFound as error:
        return json_error(404, error.message)
    except LimitExceeded as error:
        return json_error(413, error.message)
    except InvalidInput as error:
        return json_error(400, f"Invalid request body: {error.message}")
    except Unavailable as error:
        return json_error(503, error.message)
    return Response(
        orjson.dumps(
            {
                "stored": received.stored,
                "duplicates": received.duplicates,
                "dropped": received.dropped,
                "confirmed": received.confirmed,
            }
        ),
        status=200,
        mimetype="application/json",
    )
