"""The Uspacy Flask app: the guard (Bearer auth, 429 knob, call counting), auth
refresh, users/me, apps, and the webhooks API with its confirmation link
(Uspacy's API documentation). Every route also answers with a trailing `/`."""

from typing import Any

from flask import Blueprint, Flask, Response, g, jsonify, request

from app.sandbox.uspacy import crm, faults, throttle
from app.sandbox.uspacy.context import portal, sandbox
from app.sandbox.uspacy.hosts import PortalHosts, requested_domain
from app.sandbox.uspacy.store import APP_USER_ID

bp = Blueprint("uspacy_api", __name__)
REFRESH_PATH = "/auth/v1/auth/refresh_token"


def unauthorized() -> tuple[Response, int]:
    """Uspacy's 401 body."""
    return jsonify({"message": "Unauthorized"}), 401


def laravel_error(status: int, key: str, message: str) -> tuple[Response, int]:
    """The `{errors:{key:[msg]}, status}` body of Uspacy's Laravel services."""
    return jsonify({"errors": {key: [message]}, "status": status != 422}), status


def create_app(owner: Any) -> Flask:
    """Build the emulation's WSGI app around a sandbox."""
    app = Flask("uspacy_sandbox")
    app.extensions["uspacy_sandbox"] = owner
    app.url_map.strict_slashes = False
    app.json.sort_keys = False
    app.before_request(guard)
    app.after_request(rate_headers)
    app.wsgi_app = PortalHosts(app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(bp)
    app.register_blueprint(crm.bp)

    @app.errorhandler(404)
    def _missing(_error: Exception) -> tuple[Response, int]:
        return jsonify({"message": "Not Found"}), 404

    return app


def guard() -> Response | tuple[Response, int] | None:
    """Resolve the portal (its base URL must match the Bearer token's portal),
    count the call, then apply faults, the `rate_limit` knob and the throttle."""
    sb, path = sandbox(), request.path
    requested = requested_domain()
    if path.startswith("/_control"):
        return None
    if requested is None:
        return jsonify({"message": "Not Found"}), 404
    if path.startswith(REFRESH_PATH) or "/confirm" in path:
        return None
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    domain = sb.tokens.portal_of(token) if token else None
    # A token is only good on its own portal's host, as on real Uspacy.
    if domain is None or requested != domain:
        return unauthorized()
    g.portal = sb.store.portals[domain]
    rule = request.url_rule.rule if request.url_rule else path
    g.portal.calls[f"{request.method} {rule.rstrip('/')}"] += 1
    return _limits(sb, g.portal)


def _limits(sb: Any, current: Any) -> Response | None:
    fault = faults.inject(current, sb.store.lock, sb.stopping)
    if fault is not None:
        return fault
    with sb.store.lock:
        if current.knobs.get("rate_limit", 0) > 0:
            current.knobs["rate_limit"] -= 1
            return faults.too_many_attempts(1)
    verdict = sb.throttle.hit(
        current.domain,
        current.knobs.get("calls_per_window", throttle.DEFAULT_CALLS),
        current.knobs.get("window_seconds", throttle.DEFAULT_WINDOW),
    )
    g.rate = verdict
    if not verdict.allowed:
        response = faults.too_many_attempts(verdict.retry_after, verdict.limit)
        response.headers["X-RateLimit-Reset"] = str(verdict.reset_at)
        return response
    return None


def rate_headers(response: Response) -> Response:
    """Laravel's `X-RateLimit-*` headers on calls the throttle let through."""
    verdict = g.get("rate")
    if verdict is not None and verdict.allowed:
        response.headers["X-RateLimit-Limit"] = str(verdict.limit)
        response.headers["X-RateLimit-Remaining"] = str(verdict.remaining)
    return response


@bp.post("/auth/v1/auth/refresh_token/")
def refresh() -> Response | tuple[Response, int]:
    """Rotate: Bearer <refresh> → a new pair; the old refresh token dies."""
    sb = sandbox()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    domain = sb.tokens.refresh[token].domain if token in sb.tokens.refresh else None
    if domain is None or requested_domain() not in (None, domain):
        return unauthorized()
    fault = faults.inject(sb.store.portals[domain], sb.store.lock, sb.stopping)
    if fault is not None:
        return fault
    if sb.store.portals[domain].knobs.get("tariff_exceeded"):
        return jsonify(
            {
                "errors": {"text": ["The number of users in the tariff is exceeded!"]},
                "status": True,
            }
        ), 403
    pair = sb.tokens.rotate(token)
    return jsonify(pair) if pair else unauthorized()


@bp.get("/company/v1/users/me/")
def me() -> Response:
    """The app's bot user."""
    return jsonify(
        {
            "id": APP_USER_ID,
            "firstName": "Lead",
            "lastName": "Scorer",
            "email": f"app@{portal().domain}",
            "is_app_bot": True,
        }
    )


@bp.get("/apps/v1/apps/")
def apps() -> Response:
    """The app's entry with its integration token."""
    sb = sandbox()
    codes = request.args.getlist("code[]") or [sb.app_code]
    token = sb.integration_token(portal().domain)
    data = [
        {"code": code, "installed": True, "integration_token": token}
        for code in codes
        if code == sb.app_code
    ]
    return jsonify({"data": data, "meta": {"current_page": 1, "total": len(data)}})


def _public(webhook: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in webhook.items() if not k.startswith("_")}


@bp.route("/company/v1/webhooks/", methods=["GET", "POST"])
def webhooks() -> Response | tuple[Response, int]:
    """List webhooks, or create one (unconfirmed until its link is fetched)."""
    sb, current = sandbox(), portal()
    if request.method == "GET":
        data = [_public(w) for w in current.webhooks.values()]
        return jsonify(
            {
                "data": data,
                "meta": {
                    "current_page": 1,
                    "from": 1,
                    "last_page": 1,
                    "per_page": 50,
                    "to": len(data),
                    "total": len(data),
                },
            }
        )
    if current.knobs.get("non_admin"):
        return jsonify({"errors": {"text": ["Forbidden"]}, "status": True}), 403
    body = request.get_json(silent=True) or {}
    if not body.get("url"):
        return laravel_error(422, "url", "The url field is required.")
    with sb.store.lock:
        webhook_id = len(sb.all_webhooks) + 1
        now = int(sb.clock.now())
        webhook = {
            "id": webhook_id,
            "name": body.get("name", ""),
            "url": body["url"],
            "active": bool(body.get("active", True)),
            "confirmed": False,
            "events": body.get("events") or [],
            "user_id": APP_USER_ID,
            "created_at": now,
            "updated_at": now,
        }
        current.webhooks[webhook_id] = webhook
        sb.all_webhooks[webhook_id] = current.domain
    sb.webhooks.start_confirmation(current, webhook)
    return jsonify(_public(webhook)), 201


def _webhook(webhook_id: int) -> dict[str, Any] | None:
    return portal().webhooks.get(webhook_id)


@bp.route("/company/v1/webhooks/<int:webhook_id>/", methods=["GET", "DELETE"])
def one_webhook(webhook_id: int) -> Response | tuple[Response, int]:
    """Read or delete a webhook."""
    webhook = _webhook(webhook_id)
    if webhook is None:
        return jsonify({"message": "Not Found"}), 404
    if request.method == "DELETE":
        del portal().webhooks[webhook_id]
        return Response(status=204)
    return jsonify(_public(webhook))


@bp.patch("/company/v1/webhooks/<int:webhook_id>/<any(toggle, repeat):action>/")
def webhook_action(webhook_id: int, action: str) -> Response | tuple[Response, int]:
    """Toggle `active`, or re-send the last event."""
    webhook = _webhook(webhook_id)
    if webhook is None:
        return jsonify({"message": "Not Found"}), 404
    if action == "toggle":
        webhook["active"] = not webhook["active"]
    elif not sandbox().webhooks.repeat(webhook):
        return laravel_error(422, "text", "There is no event to repeat.")
    return jsonify(_public(webhook))


@bp.get("/company/v1/webhooks/<int:webhook_id>/confirm/")
def confirm(webhook_id: int) -> Response | tuple[Response, int]:
    """The validation link: fetching it with the right token confirms."""
    sb = sandbox()
    domain = sb.all_webhooks.get(webhook_id)
    if requested_domain() not in (None, domain):
        domain = None
    webhook = sb.store.portals[domain].webhooks.get(webhook_id) if domain else None
    if webhook is None or request.args.get("token") != webhook.get("_confirm_token"):
        return jsonify({"message": "Not Found"}), 404
    webhook["confirmed"] = True
    return jsonify({"status": True, "message": "confirmed"})
