"""Properties, property groups and pipelines (HubSpot's API documentation):
create/read/update/archive, 409 on duplicate names, HubSpot's type/fieldType
pairs, enumeration options, and deal stages with `isClosed`/`probability`."""

from typing import Any

from flask import Blueprint, Response, g, jsonify, request

from app.sandbox.hubspot import defaults, errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.values import iso

bp = Blueprint("hubspot_schema", __name__)
PROPS = "/crm/v3/properties/<object_type>"
FIELD_TYPES = {
    "number": {"number", "calculation_equation"},
    "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
    "bool": {"booleancheckbox"},
    "string": {"text", "textarea", "html", "phonenumber", "file"},
    "date": {"date"},
    "datetime": {"date"},
    "phone_number": {"phonenumber"},
}


def _type_error(object_type: str) -> Response | None:
    if object_type not in defaults.OBJECT_TYPES:
        return errors.validation_error(
            f"Unable to infer object type from: {object_type}"
        )
    return None


@bp.get(PROPS)
def list_properties(object_type: str) -> Response:
    """All live (or archived) properties of an object type."""
    if (bad := _type_error(object_type)) is not None:
        return bad
    archived = request.args.get("archived", "false") == "true"
    with sandbox().store.lock:
        results = [
            dict(p)
            for p in g.account.properties[object_type].values()
            if p["archived"] == archived
        ]
    return jsonify({"results": results})


def _options(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "label": o.get("label", ""),
            "value": o.get("value", ""),
            "displayOrder": o.get("displayOrder", i),
            "hidden": bool(o.get("hidden")),
            "description": o.get("description", ""),
        }
        for i, o in enumerate(raw)
    ]


@bp.post(PROPS)
def create_property(object_type: str) -> tuple[Response, int] | Response:
    """Create a custom property; 409 if the name is taken."""
    if (bad := _type_error(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    body = request.get_json(silent=True) or {}
    missing = [
        k
        for k in ("name", "label", "type", "fieldType", "groupName")
        if not body.get(k)
    ]
    if missing:
        return errors.validation_error(f"Missing required fields: {missing}")
    name, kind, field_type = body["name"], body["type"], body["fieldType"]
    if field_type not in FIELD_TYPES.get(kind, set()):
        return errors.validation_error(
            f"Property type {kind} is not compatible with field type {field_type}"
        )
    if kind == "enumeration" and not body.get("options"):
        return errors.validation_error("Enumeration properties require options")
    with sb.store.lock:
        existing = account.properties[object_type].get(name)
        if existing is not None:
            return errors.error(
                409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS"
            )
        if body["groupName"] not in account.groups[object_type]:
            return errors.validation_error(
                f"Property group {body['groupName']} does not exist"
            )
        now = iso(sb.clock.now())
        prop = {
            "name": name,
            "label": body["label"],
            "type": kind,
            "fieldType": field_type,
            "description": body.get("description", ""),
            "groupName": body["groupName"],
            "options": _options(body.get("options") or []),
            "displayOrder": body.get("displayOrder", -1),
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": bool(body.get("hasUniqueValue")),
            "hidden": bool(body.get("hidden")),
            "hubspotDefined": False,
            "formField": bool(body.get("formField")),
            "showCurrencySymbol": bool(body.get("showCurrencySymbol")),
            "modificationMetadata": {
                "archivable": True,
                "readOnlyDefinition": False,
                "readOnlyValue": False,
                "readOnlyOptions": False,
            },
            "createdAt": now,
            "updatedAt": now,
            "archived": False,
            "createdUserId": str(account.user_id),
            "updatedUserId": str(account.user_id),
        }
        account.properties[object_type][name] = prop
        return jsonify(prop), 201


@bp.route(f"{PROPS}/<name>", methods=["GET", "PATCH", "DELETE"])
def one_property(object_type: str, name: str) -> Response:
    """Read, update (options replaced in full) or archive a property."""
    if (bad := _type_error(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    with sb.store.lock:
        prop = account.properties[object_type].get(name)
        if prop is None or (prop["archived"] and request.method != "GET"):
            return errors.error(
                404, f"Property {name} does not exist", "OBJECT_NOT_FOUND"
            )
        if request.method == "GET":
            return jsonify(dict(prop))
        if prop["modificationMetadata"]["readOnlyDefinition"]:
            return errors.validation_error(
                f"Property {name} is a HubSpot-defined property and cannot be changed"
            )
        if request.method == "DELETE":
            prop["archived"] = True
            return Response(status=204)
        body = request.get_json(silent=True) or {}
        for key in (
            "label",
            "description",
            "groupName",
            "displayOrder",
            "hidden",
            "formField",
            "fieldType",
            "type",
        ):
            if key in body:
                prop[key] = body[key]
        if "options" in body:
            prop["options"] = _options(body["options"])
        prop["updatedAt"] = iso(sb.clock.now())
        return jsonify(dict(prop))


@bp.route(f"{PROPS}/groups", methods=["GET", "POST"])
def groups(object_type: str) -> tuple[Response, int] | Response:
    """List groups, or create one (409 if the name is taken)."""
    if (bad := _type_error(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    with sb.store.lock:
        if request.method == "GET":
            return jsonify(
                {"results": [dict(x) for x in account.groups[object_type].values()]}
            )
        body = request.get_json(silent=True) or {}
        if not body.get("name") or not body.get("label"):
            return errors.validation_error("Missing required fields: name, label")
        if body["name"] in account.groups[object_type]:
            return errors.error(
                409,
                f"Property group named '{body['name']}' already exists.",
                "OBJECT_ALREADY_EXISTS",
            )
        group = {
            "name": body["name"],
            "label": body["label"],
            "displayOrder": body.get("displayOrder", -1),
            "archived": False,
        }
        account.groups[object_type][body["name"]] = group
        return jsonify(group), 201


@bp.route(f"{PROPS}/groups/<name>", methods=["GET", "PATCH", "DELETE"])
def one_group(object_type: str, name: str) -> Response:
    """Read, relabel or archive a property group."""
    if (bad := _type_error(object_type)) is not None:
        return bad
    sb, account = sandbox(), g.account
    with sb.store.lock:
        group = account.groups[object_type].get(name)
        if group is None:
            return errors.error(
                404, f"Property group {name} does not exist", "OBJECT_NOT_FOUND"
            )
        if request.method == "DELETE":
            del account.groups[object_type][name]
            return Response(status=204)
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            for key in ("label", "displayOrder"):
                if key in body:
                    group[key] = body[key]
        return jsonify(dict(group))


def _pipelines(object_type: str) -> list[dict[str, Any]] | Response:
    if object_type != "deals":
        return errors.validation_error(f"Object type {object_type} has no pipelines")
    return g.account.pipelines["deals"]


@bp.get("/crm/v3/pipelines/<object_type>")
def list_pipelines(object_type: str) -> Response:
    """All deal pipelines with their stages."""
    found = _pipelines(object_type)
    if isinstance(found, Response):
        return found
    return jsonify({"results": [p for p in found if not p["archived"]]})


@bp.get("/crm/v3/pipelines/<object_type>/<pipeline_id>")
@bp.get("/crm/v3/pipelines/<object_type>/<pipeline_id>/stages")
def one_pipeline(object_type: str, pipeline_id: str) -> Response:
    """One pipeline, or just its stages."""
    found = _pipelines(object_type)
    if isinstance(found, Response):
        return found
    for pipeline in found:
        if pipeline["id"] == pipeline_id:
            if request.path.endswith("/stages"):
                return jsonify({"results": pipeline["stages"]})
            return jsonify(pipeline)
    return errors.error(
        404, f"Unable to find pipeline {pipeline_id}", "OBJECT_NOT_FOUND"
    )
