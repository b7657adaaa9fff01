"""HTTP control interface under `/_control/`, mirroring `HubSpotSandbox`'s Python
API for processes that cannot import it (the demo, a browser, curl). It needs no
token: it is the tester's hand, not the app's."""

from typing import Any

from flask import Blueprint, Response, jsonify, request

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.store import Conflict, NotFound, ValidationFailed

bp = Blueprint("hubspot_control", __name__, url_prefix="/_control")
ACCOUNT = "/accounts/<int:hub_id>"


def _body() -> dict[str, Any]:
    return request.get_json(silent=True) or {}


@bp.errorhandler(KeyError)
def _unknown_account(error: KeyError) -> tuple[Response, int]:
    return jsonify({"error": f"unknown: {error}"}), 404


@bp.errorhandler(NotFound)
def _no_record(error: NotFound) -> tuple[Response, int]:
    return jsonify({"error": f"no such record: {error}"}), 404


@bp.errorhandler(ValidationFailed)
def _invalid(error: ValidationFailed) -> Response:
    return errors.invalid_values(error.problems)


@bp.errorhandler(Conflict)
def _conflict(error: Conflict) -> Response:
    return errors.error(409, str(error), "CONFLICT")


@bp.get("/app")
def app_info() -> Response:
    """The app credentials the emulation expects."""
    config = sandbox().app_config
    return jsonify(
        {
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "app_id": config.app_id,
            "redirect_urls": config.redirect_urls,
        }
    )


@bp.post("/accounts")
def create_account() -> tuple[Response, int]:
    """`{hub_id, user?}` → the account."""
    body = _body()
    account = sandbox().create_account(int(body["hub_id"]), body.get("user"))
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
    """Install without the browser: `{scopes?}` → token body."""
    return jsonify(sandbox().mint_tokens(hub_id, _body().get("scopes")))


@bp.post(f"{ACCOUNT}/uninstall")
def uninstall(hub_id: int) -> Response:
    """Uninstall from HubSpot's side."""
    sandbox().uninstall(hub_id)
    return Response(status=204)


@bp.post(f"{ACCOUNT}/seed")
def seed(hub_id: int) -> Response:
    """`{contacts?, deals?, seed?}` → counts created."""
    body = _body()
    return jsonify(
        sandbox().seed(
            hub_id,
            int(body.get("contacts", 200)),
            int(body.get("deals", 80)),
            int(body.get("seed", 7)),
        )
    )


@bp.post(f"{ACCOUNT}/<any(contacts, deals):object_type>")
def act_create(hub_id: int, object_type: str) -> tuple[Response, int]:
    """A user creates a record: `{properties, contact_ids?}`."""
    body, act = _body(), sandbox().act
    if object_type == "contacts":
        new_id = act.create_contact(hub_id, **body.get("properties", {}))
    else:
        new_id = act.create_deal(
            hub_id, body.get("contact_ids"), **body.get("properties", {})
        )
    return jsonify(sandbox().get_object(hub_id, object_type, new_id)), 201


@bp.route(
    f"{ACCOUNT}/<any(contacts, deals):object_type>/<object_id>",
    methods=["GET", "PATCH", "DELETE"],
)
def act_one(hub_id: int, object_type: str, object_id: str) -> Response:
    """Inspect, edit (`{properties}`) or delete a record as a user."""
    sb = sandbox()
    if request.method == "PATCH":
        props = _body().get("properties", {})
        if object_type == "contacts":
            sb.act.update_contact(hub_id, object_id, **props)
        else:
            sb.act.update_deal(hub_id, object_id, **props)
    elif request.method == "DELETE":
        sb.act.delete(hub_id, object_type, object_id)
        return Response(status=204)
    return jsonify(sb.get_object(hub_id, object_type, object_id))


@bp.post(f"{ACCOUNT}/deals/<deal_id>/stage")
def move_deal(hub_id: int, deal_id: str) -> Response:
    """`{stage}`: drag the deal to a stage."""
    sandbox().act.move_deal(hub_id, deal_id, _body()["stage"])
    return jsonify(sandbox().get_object(hub_id, "deals", deal_id))


@bp.post(
    f"{ACCOUNT}/contacts/<contact_id>/<any(bounce, open, click, activity, "
    '"privacy-delete"):action>'
)
def contact_event(hub_id: int, contact_id: str, action: str) -> Response:
    """Email bounce/open/click, a logged activity, or a GDPR deletion."""
    act = sandbox().act
    if action == "bounce":
        act.bounce_email(hub_id, contact_id, _body().get("reason", "UNKNOWN_USER"))
    elif action in ("open", "click"):
        act.open_email(hub_id, contact_id, clicked=action == "click")
    elif action == "activity":
        act.log_activity(hub_id, contact_id)
    else:
        act.privacy_delete_contact(hub_id, contact_id)
        return Response(status=204)
    return jsonify(sandbox().get_object(hub_id, "contacts", contact_id))


@bp.post(f"{ACCOUNT}/contacts/merge")
def merge(hub_id: int) -> Response:
    """`{primary_id, merged_id}`."""
    body = _body()
    primary = sandbox().act.merge_contacts(
        hub_id, str(body["primary_id"]), str(body["merged_id"])
    )
    return jsonify(sandbox().get_object(hub_id, "contacts", primary))


@bp.route(f"{ACCOUNT}/faults", methods=["GET", "PUT"])
def faults(hub_id: int) -> tuple[Response, int] | Response:
    """Read or set fault knobs."""
    try:
        return jsonify(
            sandbox().faults(hub_id, **(_body() if request.method == "PUT" else {}))
        )
    except ValueError as problem:
        return jsonify({"error": str(problem)}), 400


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
        body = _body()
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
