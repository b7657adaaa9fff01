"""`/_control/accounts/{hub}/…` routes that play a person in HubSpot's UI:
create, edit, delete and merge records, move deals, associate contacts with
companies, email events. They mirror `HubSpotSandbox.act`; their changes fire
webhooks like any other change."""

from flask import Blueprint, Response, jsonify, request

from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.control import ACCOUNT, install_error_handlers, json_body

bp = Blueprint("hubspot_control_actions", __name__, url_prefix="/_control")
install_error_handlers(bp)


TYPES = "<any(contacts, companies, deals):object_type>"


def _properties(body: dict) -> dict:
    found = body.get("properties", {})
    if not isinstance(found, dict):
        raise ValueError("properties must be an object")
    return found


@bp.post(f"{ACCOUNT}/{TYPES}")
def act_create(hub_id: int, object_type: str) -> tuple[Response, int]:
    """A user creates a record: `{properties, contact_ids?}`."""
    body, act = json_body(), sandbox().act
    if object_type == "contacts":
        new_id = act.create_contact(hub_id, **_properties(body))
    elif object_type == "companies":
        new_id = act.create_company(hub_id, **_properties(body))
    else:
        new_id = act.create_deal(hub_id, body.get("contact_ids"), **_properties(body))
    return jsonify(sandbox().get_object(hub_id, object_type, new_id)), 201


@bp.route(f"{ACCOUNT}/{TYPES}/<object_id>", methods=["GET", "PATCH", "DELETE"])
def act_one(hub_id: int, object_type: str, object_id: str) -> Response:
    """Inspect, edit (`{properties}`) or delete a record as a user."""
    sb = sandbox()
    if request.method == "PATCH":
        props = _properties(json_body())
        if object_type == "contacts":
            sb.act.update_contact(hub_id, object_id, **props)
        elif object_type == "companies":
            sb.act.update_company(hub_id, object_id, **props)
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


@bp.route(
    f"{ACCOUNT}/contacts/<contact_id>/companies/<company_id>",
    methods=["PUT", "DELETE"],
)
def contact_company(hub_id: int, contact_id: str, company_id: str) -> Response:
    """PUT `{primary?: true}` associates the contact with the company (as its
    primary company unless `primary` is false); DELETE removes the association."""
    act = sandbox().act
    if request.method == "DELETE":
        act.remove_company(hub_id, contact_id, company_id)
    else:
        primary = json_body().get("primary", True)
        if not isinstance(primary, bool):
            raise ValueError("primary must be true or false")
        act.associate_company(hub_id, contact_id, company_id, primary)
    return jsonify(sandbox().get_object(hub_id, "contacts", contact_id))


@bp.post(
    f"{ACCOUNT}/contacts/<contact_id>/<any(bounce, open, click, reply, activity, "
    '"privacy-delete"):action>'
)
def contact_event(hub_id: int, contact_id: str, action: str) -> Response:
    """Email bounce/open/click, a reply to a sales email, a logged activity, or a
    GDPR deletion."""
    act = sandbox().act
    if action == "reply":
        act.reply_to_sales_email(hub_id, contact_id)
    elif action == "bounce":
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
