"""HTTP control interface of the Uspacy emulation under `/_control/`, mirroring
`UspacySandbox`'s Python API for other processes."""

from typing import Any

from flask import Blueprint, Response, jsonify, request

from app.sandbox.uspacy.context import sandbox

bp = Blueprint("uspacy_control", __name__, url_prefix="/_control")
PORTAL = "/portals/<domain>"


def _body() -> dict[str, Any]:
    return request.get_json(silent=True) or {}


@bp.errorhandler(KeyError)
def _unknown(error: KeyError) -> tuple[Response, int]:
    return jsonify({"error": f"unknown: {error}"}), 404


@bp.get("/app")
def app_info() -> Response:
    """The app credentials the emulation signs with, and the base URL template
    the app must use (one base URL per portal)."""
    sb = sandbox()
    return jsonify(
        {
            "client_id": sb.client_id,
            "client_secret": sb.client_secret,
            "app_code": sb.app_code,
            "callback_url": sb.callback_url,
            "base_url_template": sb.base_url_template,
        }
    )


@bp.post("/portals")
def create_portal() -> tuple[Response, int]:
    """`{domain}` → the portal is created."""
    domain = _body()["domain"]
    sandbox().create_portal(domain)
    return jsonify({"domain": domain}), 201


@bp.post(f"{PORTAL}/tokens")
def tokens(domain: str) -> Response:
    """Mint `{jwt, refreshToken, expireInSeconds}` without an install call."""
    return jsonify(sandbox().mint_tokens(domain))


@bp.post(f"{PORTAL}/<any(install, uninstall):action>")
def lifecycle(domain: str, action: str) -> tuple[Response, int]:
    """Call the app's install or uninstall endpoint: `{callback_url?}`, and for
    uninstall `{path?: uninstall|uinstall, method?: DELETE|POST}`."""
    sb, body = sandbox(), _body()
    url = body.get("callback_url")
    try:
        answer = (
            sb.install(domain, url)
            if action == "install"
            else sb.uninstall(
                domain,
                url,
                path=body.get("path", "uninstall"),
                method=body.get("method", "DELETE"),
            )
        )
    except ValueError as problem:
        return jsonify({"error": str(problem)}), 400
    return jsonify({"app_status": answer.status_code, "app_body": answer.text}), 200


@bp.post(f"{PORTAL}/seed")
def seed(domain: str) -> Response:
    """`{leads?, deals?, seed?}` → counts created."""
    body = _body()
    return jsonify(
        sandbox().seed(
            domain,
            int(body.get("leads", 120)),
            int(body.get("deals", 60)),
            int(body.get("seed", 7)),
        )
    )


@bp.route(f"{PORTAL}/<any(knobs, faults, delivery):group>", methods=["GET", "PUT"])
def settings(domain: str, group: str) -> tuple[Response, int] | Response:
    """Read or set a portal's `knobs` (rate_limit, tariff_exceeded, non_admin,
    calls_per_window, window_seconds), `faults` (error_rate, throttle_rate,
    retry_after, hang_rate, hang_seconds, latency, seed) or `delivery`
    (envelope, duplicate_rate, reorder_rate, seed)."""
    changes = _body() if request.method == "PUT" else {}
    try:
        return jsonify(getattr(sandbox(), group)(domain, **changes))
    except ValueError as problem:
        return jsonify({"error": str(problem)}), 400


@bp.post(f"{PORTAL}/<any(leads, contacts, deals, companies):kind>")
def act_create(domain: str, kind: str) -> tuple[Response, int]:
    """A user creates a record: body = its fields."""
    return jsonify(sandbox().act_create(domain, kind, **_body())), 201


@bp.route(
    f"{PORTAL}/<any(leads, contacts, deals, companies):kind>/<int:record_id>",
    methods=["GET", "PATCH", "DELETE"],
)
def act_one(domain: str, kind: str, record_id: int) -> Response | tuple[Response, int]:
    """Inspect, edit or delete a record as a user."""
    sb = sandbox()
    if request.method == "PATCH":
        sb.act_update(domain, kind, record_id, **_body())
    elif request.method == "DELETE":
        sb.act_delete(domain, kind, record_id)
        return Response(status=204)
    found = sb.get_record(domain, kind, record_id)
    return (jsonify(found), 200) if found else (jsonify({"error": "no record"}), 404)


@bp.post(f"{PORTAL}/<any(leads, deals):kind>/<int:record_id>/stage")
def act_move(domain: str, kind: str, record_id: int) -> Response:
    """`{stage_id, reason_id?}`: drag to a stage as a user."""
    body = _body()
    return jsonify(
        sandbox().act_move(
            domain, kind, record_id, int(body["stage_id"]), body.get("reason_id")
        )
    )


@bp.get(f"{PORTAL}/calls")
def calls(domain: str) -> Response:
    """API calls per endpoint."""
    return jsonify(sandbox().calls(domain))


@bp.get("/webhooks/deliveries")
def deliveries() -> Response:
    """Webhook POST attempts so far."""
    return jsonify(sandbox().deliveries())
