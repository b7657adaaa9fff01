"""The HubSpot Flask app and the guard in front of every API route: Bearer auth,
scopes, per-endpoint call counting, fault injection and rate limits, in the order
HubSpot applies them, plus the `X-HubSpot-RateLimit-*` headers on answers."""

import math
from typing import TYPE_CHECKING

from flask import Blueprint, Flask, Response, g, request

from app.sandbox.hubspot import (
    associations,
    control,
    control_actions,
    crm,
    crm_batch,
    errors,
    oauth,
    schema,
    token_info,
    token_routes,
)
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.jsonio import FastJSON
from app.sandbox.hubspot.ratelimit import TEN_SECONDLY_LIMIT, TEN_SECONDLY_WINDOW

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox

guarded = Blueprint("hubspot_api", __name__)
for _path in oauth.UNINSTALL_PATHS:
    guarded.add_url_rule(
        _path,
        endpoint=f"uninstall{_path}",
        view_func=oauth.uninstall,
        methods=["DELETE"],
    )


def create_app(owner: "HubSpotSandbox") -> Flask:
    """Build the emulation's WSGI app around a sandbox."""
    app = Flask("hubspot_sandbox")
    app.extensions["hubspot_sandbox"] = owner
    app.json = FastJSON(app)
    for blueprint in (crm.bp, crm_batch.bp, schema.bp, associations.bp, guarded):
        app.register_blueprint(blueprint)
    for blueprint in (
        oauth.bp,
        token_routes.bp,
        token_info.bp,
        control.bp,
        control_actions.bp,
    ):
        app.register_blueprint(blueprint)

    @app.errorhandler(404)
    def _unknown_route(_error: Exception) -> Response:
        return errors.error(404, "", "OBJECT_NOT_FOUND")

    return app


def endpoint_key() -> str:
    """`METHOD /path/template`, with the object types filled in."""
    rule = request.url_rule.rule if request.url_rule else request.path
    for name, value in (request.view_args or {}).items():
        if name in ("object_type", "to_type", "from_type"):
            rule = rule.replace(f"<{name}>", value)
    return f"{request.method} {rule}"


def required_scopes(path: str, method: str) -> list[list[str]]:
    """The scopes a call needs, HubSpot style: of each inner list the token
    needs one. Associations need read access to both object types [guess: the
    spec lists the scopes of either side; the stricter reading is assumed]."""
    reading = method == "GET" or path.endswith(("/batch/read", "/search"))
    parts = path.strip("/").split("/")
    if parts[0] == "appinstalls":
        return [["oauth"]]
    if parts[1] == "v3" and parts[2] == "properties":
        otype = parts[3]
        if reading:
            return [[f"crm.objects.{otype}.read", f"crm.schemas.{otype}.read"]]
        return [[f"crm.schemas.{otype}.write"]]
    if parts[2] == "pipelines":
        return [[f"crm.objects.{parts[3]}.read"]]
    otype = parts[3]
    needed = [[f"crm.objects.{otype}.{'read' if reading else 'write'}"]]
    if parts[1] == "v4":
        other = request.view_args.get("to_type") if request.view_args else None
        if other and other != otype:
            needed.append([f"crm.objects.{other}.read"])
    return needed


def guard() -> Response | None:
    """Authenticate, authorise, count, inject faults, then rate-limit."""
    sb = sandbox()
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    grant = sb.tokens.lookup(token) if token else None
    if grant is None:
        return errors.invalid_authentication()
    now = sb.clock.now()
    if grant.expires_at <= now:
        return errors.expired_authentication(
            max(1, math.ceil((now - grant.expires_at) / 60))
        )
    account = sb.store.account(grant.hub_id)
    g.account, g.token, g.rate_remaining = account, token, None
    account.calls[endpoint_key()] += 1
    for needed in required_scopes(request.path, request.method):
        if not any(scope in grant.scopes for scope in needed):
            return errors.missing_scopes(needed)
    fault = _inject_fault(sb, account)
    if fault is not None:
        return fault
    searching = request.path.endswith("/search")
    if searching:
        # Search's 5/s counts per account, whichever token calls.
        allowed, _ = sb.search_limiter.acquire(account.hub_id)
        group = f"publicsearch:app-oauth:{sb.app_config.app_id}:{account.hub_id}"
        return None if allowed else errors.rate_limited("SECONDLY", group)
    allowed, remaining = sb.limiter.acquire(account.hub_id)
    g.rate_remaining = remaining
    if not allowed:
        group = f"publicapi:app-oauth:{sb.app_config.app_id}:{account.hub_id}"
        return errors.rate_limited("TEN_SECONDLY_ROLLING", group)
    return None


def _inject_fault(sb: "HubSpotSandbox", account) -> Response | None:
    faults = account.faults
    if faults.get("latency"):
        sb.stopping.wait(float(faults["latency"]))
    with sb.store.lock:
        if faults.get("timeouts", 0) > 0:
            faults["timeouts"] -= 1
            hang = float(faults.get("timeout_seconds", 30.0))
        else:
            hang = 0.0
        forced = faults.get("force_429", 0) > 0
        if forced:
            faults["force_429"] -= 1
        failing = sb.random.random() < float(faults.get("error_rate", 0.0))
    if hang:
        sb.stopping.wait(hang)
        return errors.error(504, "Gateway timeout", "GATEWAY_TIMEOUT")
    if forced:
        group = f"publicapi:app-oauth:{sb.app_config.app_id}:{account.hub_id}"
        g.rate_remaining = 0
        return errors.rate_limited("TEN_SECONDLY_ROLLING", group)
    if failing:
        return errors.error(502, "Bad gateway", "INTERNAL_ERROR")
    return None


def add_rate_headers(response: Response) -> Response:
    """Rate-limit headers on every non-search answer HubSpot would put them on."""
    remaining = g.get("rate_remaining")
    if remaining is not None and not request.path.endswith("/search"):
        response.headers["X-HubSpot-RateLimit-Interval-Milliseconds"] = str(
            int(TEN_SECONDLY_WINDOW * 1000)
        )
        response.headers["X-HubSpot-RateLimit-Max"] = str(TEN_SECONDLY_LIMIT)
        response.headers["X-HubSpot-RateLimit-Remaining"] = str(remaining)
    return response


for _blueprint in (crm.bp, crm_batch.bp, schema.bp, associations.bp, guarded):
    _blueprint.before_request(guard)
    _blueprint.after_request(add_rate_headers)
