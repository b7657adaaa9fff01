"""HTTP control interface under `/_control/`, mirroring `HubSpotSandbox`'s Python
API for processes that cannot import it (the demo, a browser, curl). It needs no
token: it is the tester's hand, not the app's."""

from typing import Any

from flask import Blueprint, Flask, Response, jsonify, request

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.store import Conflict, NotFound, ValidationFailed

bp = Blueprint("hubspot_control", __name__, url_prefix="/_control")
ACCOUNT = "/accounts/<int:hub_id>"


def json_body() -> dict[str, Any]:
    """The request's JSON object ({} when absent or not an object)."""
    found = request.get_json(silent=True)
    return found if isinstance(found, dict) else {}


def install_error_handlers(blueprint: Blueprint | Flask) -> None:
    """Unknown accounts and records → 404, bad values → HubSpot's 400/409."""

    @blueprint.errorhandler(KeyError)
    def _unknown_account(error: KeyError) -> tuple[Response, int]:
        return jsonify({"error": f"unknown: {error}"}), 404

    @blueprint.errorhandler(NotFound)
    def _no_record(error: NotFound) -> tuple[Response, int]:
        return jsonify({"error": f"no such record: {error}"}), 404

    @blueprint.errorhandler(ValidationFailed)
    def _invalid(error: ValidationFailed) -> Response:
        return errors.invalid_values(error.problems)

    @blueprint.errorhandler(Conflict)
    def _conflict(error: Conflict) -> Response:
        return errors.error(409, str(error), "CONFLICT")

    @blueprint.errorhandler(ValueError)
    def _bad_value(error: ValueError) -> tuple[Response, int]:
        return jsonify({"error": str(error)}), 400


install_error_handlers(bp)


@bp.route("/app", methods=["GET", "PUT"])
def app_info() -> Response:
    """The app's credentials and Auth settings; PUT `{redirect_urls?,
    required_scopes?}` changes them."""
    config = sandbox().app_config
    if request.method == "PUT":
        body = json_body()
        if "redirect_urls" in body:
            config.set_redirect_urls(body["redirect_urls"])
        if "required_scopes" in body:
            scopes = body["required_scopes"]
            if not isinstance(scopes, list) or not all(
                isinstance(s, str) for s in scopes
            ):
                raise ValueError("required_scopes must be a list of scope names")
            config.required_scopes = list(scopes)
    return jsonify(config.describe())


@bp.post("/accounts")
def create_account() -> tuple[Response, int]:
    """`{hub_id, user?}` → the account."""
    body = json_body()
    account = sandbox().create_account(body.get("hub_id"), body.get("user"))
    return jsonify(
        {
            "hub_id": account.hub_id,
            "user": account.user,
            "user_id": account.user_id,
            "hub_domain": account.hub_domain,
        }
    ), 201


@bp.post(f"{ACCOUNT}/tokens")
def mint_tokens(hub_id: int) -> Response:
    """Install without the browser: `{scopes?, optional_scopes?}` → the 2026-03
    token response."""
    body = json_body()
    return jsonify(
        sandbox().mint_tokens(hub_id, body.get("scopes"), body.get("optional_scopes"))
    )


@bp.post(f"{ACCOUNT}/tokens/expire")
def expire_tokens(hub_id: int) -> Response:
    """Every access token of the account expires now."""
    return jsonify({"expired": sandbox().expire_access_tokens(hub_id)})


@bp.get(f"{ACCOUNT}/token-calls")
def token_calls(hub_id: int) -> Response:
    """Token endpoint calls: `{counts: {grant type: n}, log: [...]}`."""
    sb = sandbox()
    return jsonify({"counts": sb.token_calls(hub_id), "log": sb.token_call_log(hub_id)})


@bp.post(f"{ACCOUNT}/uninstall")
def uninstall(hub_id: int) -> Response:
    """A portal admin uninstalls the app in HubSpot's UI (no webhook is sent)."""
    sandbox().uninstall(hub_id)
    return Response(status=204)


@bp.route(f"{ACCOUNT}/knobs", methods=["GET", "PUT"])
def knobs(hub_id: int) -> Response:
    """Read or set `{access_token_seconds, search_index_delay,
    unavailable_scopes, rotate_refresh_tokens}`."""
    changes = json_body() if request.method == "PUT" else {}
    return jsonify(sandbox().knobs(hub_id, **changes))


@bp.post(f"{ACCOUNT}/search-index/flush")
def flush_search_index(hub_id: int) -> Response:
    """Search catches up with every write of the account now."""
    sandbox().flush_search_index(hub_id)
    return Response(status=204)


@bp.post(f"{ACCOUNT}/seed")
def seed(hub_id: int) -> Response:
    """`{contacts?, deals?, companies?, seed?}` → counts created."""
    body = json_body()
    companies = body.get("companies")
    return jsonify(
        sandbox().seed(
            hub_id,
            int(body.get("contacts", 200)),
            int(body.get("deals", 80)),
            int(body.get("seed", 7)),
            None if companies is None else int(companies),
        )
    )


@bp.route(f"{ACCOUNT}/faults", methods=["GET", "PUT"])
def faults(hub_id: int) -> tuple[Response, int] | Response:
    """Read or set fault knobs."""
    changes = json_body() if request.method == "PUT" else {}
    return jsonify(sandbox().faults(hub_id, **changes))


@bp.get(f"{ACCOUNT}/calls")
def calls(hub_id: int) -> Response:
    """API calls per endpoint."""
    return jsonify(sandbox().calls(hub_id))


@bp.get(f"{ACCOUNT}/writes")
def writes(hub_id: int) -> Response:
    """What the app wrote."""
    return jsonify(sandbox().writes(hub_id))


@bp.route("/webhooks", methods=["GET", "PUT"])
def webhooks() -> Response:
    """Read or set `{targetUrl, subscriptions, maxConcurrentRequests, duplicates,
    outOfOrder}`."""
    sb = sandbox()
    if request.method == "PUT":
        body = json_body()
        sb.configure_webhooks(
            body.get("targetUrl"),
            body.get("subscriptions", []),
            max_concurrent=body.get("maxConcurrentRequests", 10),
            duplicates=body.get("duplicates", 0.0),
            out_of_order=body.get("outOfOrder", False),
        )
    settings = sb.webhooks.settings
    return jsonify(
        {
            "targetUrl": settings.target_url,
            "maxConcurrentRequests": settings.max_concurrent,
            "subscriptions": sb.subscriptions,
        }
    )


@bp.get("/webhooks/deliveries")
def deliveries() -> Response:
    """Webhook POST attempts so far."""
    return jsonify(sandbox().deliveries())
