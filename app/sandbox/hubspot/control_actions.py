"""`/_control/accounts/{hub}/…` routes that play a person in HubSpot's UI:
create, edit, delete and merge records, move deals, email events. They mirror
`HubSpotSandbox.act`; their changes fire webhooks like any other change."""

from flask import Blueprint, Response, jsonify, request

from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.control import ACCOUNT, install_error_handlers, json_body

bp = Blueprint("hubspot_control_actions", __name__, url_prefix="/_control")
install_error_handlers(bp)


@bp.post(f"{ACCOUNT}/<any(contacts, deals):object_type>")
def act_create(hub_id: int, object_type: str) -> tuple[Response, int]:
    """A user creates a record: `{properties, contact_ids?}`."""
    body, act = json_body(), sandbox().act
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
        props = json_body().get("properties", {})
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
    sandbox().act.move_deal(hub_id, deal_id, json_body()["stage"])
    return jsonify(sandbox().get_object(hub_id, "deals", deal_id))


@bp.post(
    f"{ACCOUNT}/contacts/<contact_id>/<any(bounce, open, click, activity, "
    '"privacy-delete"):action>'
)
def contact_event(hub_id: int, contact_id: str, action: str) -> Response:
    """Email bounce/open/click, a logged activity, or a GDPR deletion."""
    act = sandbox().act
    if action == "bounce":
        act.bounce_email(hub_id, contact_id, json_body().get("reason", "UNKNOWN_USER"))
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
    body = json_body()
    primary = sandbox().act.merge_contacts(
        hub_id, str(body["primary_id"]), str(body["merged_id"])
    )
    return jsonify(sandbox().get_object(hub_id, "contacts", primary))
