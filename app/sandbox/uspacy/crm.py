"""Uspacy CRM routes (Uspacy's API documentation): entity types,
records with Laravel paging, custom fields (422 on a duplicate code), funnels,
kanban stages, reasons, and move-to-stage."""

import math
import re
from typing import Any

from flask import Blueprint, Response, jsonify, request

from app.sandbox.uspacy import values
from app.sandbox.uspacy.catalog import FIELD_TYPES
from app.sandbox.uspacy.context import portal, sandbox
from app.sandbox.uspacy.store import APP_USER_ID, ENTITY_TYPES

bp = Blueprint("uspacy_crm", __name__, url_prefix="/crm/v1")
# ASSUMED: codes are snake_case as every known real code is (`uf_crm_…`).
CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
KINDS = "<any(leads, contacts, deals, companies):kind>"
TITLES = {
    "leads": "Leads",
    "contacts": "Contacts",
    "deals": "Deals",
    "companies": "Companies",
}


def _missing() -> tuple[Response, int]:
    return jsonify({"message": "Not Found"}), 404


def _unprocessable(errors: dict[str, list[str]]) -> tuple[Response, int]:
    return jsonify({"errors": errors, "status": False}), 422


def _checked(
    current: Any, kind: str, creating: bool
) -> tuple[dict[str, Any], tuple[Response, int] | None]:
    """The write's values in stored form, or the 422 that refuses them."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return {}, _unprocessable({"body": ["The body must be a JSON object."]})
    with sandbox().store.lock:
        fields = current.fields[kind]
        errors = values.problems(fields, body)
        if creating and not errors:
            errors = values.missing_required(fields, body)
        if errors:
            return {}, _unprocessable(errors)
        return values.stored(fields, body), None


@bp.get("/entity/")
def entity_types() -> Response:
    """The built-in entity types."""
    return jsonify(
        {
            "data": [
                {
                    "id": i + 1,
                    "title": TITLES[kind],
                    "title_singular": TITLES[kind][:-1],
                    "table_name": kind,
                    "type": "system",
                    "sort": i + 1,
                    "kanban": kind in ("leads", "deals"),
                    "for_all_users": True,
                    "display_in_menu": True,
                    "activity_support": True,
                    "task_support": True,
                }
                for i, kind in enumerate(ENTITY_TYPES)
            ]
        }
    )


@bp.route(f"/entities/{KINDS}/", methods=["GET", "POST"])
def records(kind: str) -> Response | tuple[Response, int]:
    """List one page (`page`, `list`, `sort_by[field]`) or create a record."""
    sb, current = sandbox(), portal()
    if request.method == "POST":
        body, refused = _checked(current, kind, creating=True)
        if refused is not None:
            return refused
        return jsonify(sb.store.create(current, kind, body, APP_USER_ID)), 201
    page = max(1, int(request.args.get("page", 1)))
    size = max(1, int(request.args.get("list", 20)))
    with sb.store.lock:
        rows = list(current.entities[kind].values())
        for key, direction in request.args.items():
            if key.startswith("sort_by[") and key.endswith("]"):
                field = key[8:-1]
                rows.sort(
                    key=lambda r, f=field: (r.get(f) is None, r.get(f)),
                    reverse=direction.lower() == "desc",
                )
        total = len(rows)
        chunk = rows[(page - 1) * size : page * size]
    last = max(1, math.ceil(total / size))
    base = f"{request.base_url}?list={size}&page="
    return jsonify(
        {
            "data": chunk,
            "meta": {
                "current_page": page,
                "page": page,
                "list": size,
                "per_page": size,
                "from": (page - 1) * size + 1 if chunk else None,
                "to": (page - 1) * size + len(chunk) if chunk else None,
                "last_page": last,
                "total": total,
                "path": request.base_url,
                "links": [],
            },
            "links": {
                "first": f"{base}1",
                "last": f"{base}{last}",
                "prev": f"{base}{page - 1}" if page > 1 else None,
                "next": f"{base}{page + 1}" if page < last else None,
            },
        }
    )


@bp.route(f"/entities/{KINDS}/<int:record_id>/", methods=["GET", "PATCH", "DELETE"])
def record(kind: str, record_id: int) -> Response | tuple[Response, int]:
    """Read (bare object), update (merge keys) or delete one record."""
    sb, current = sandbox(), portal()
    if request.method == "DELETE":
        return (
            Response(status=204)
            if sb.store.delete(current, kind, record_id, APP_USER_ID)
            else _missing()
        )
    if request.method == "PATCH":
        if sb.store.get(current, kind, record_id) is None:
            return _missing()
        body, refused = _checked(current, kind, creating=False)
        if refused is not None:
            return refused
        updated = sb.store.update(current, kind, record_id, body, APP_USER_ID)
        return jsonify(updated) if updated else _missing()
    with sb.store.lock:
        found = sb.store.get(current, kind, record_id)
        return jsonify(found) if found else _missing()


@bp.post(f"/entities/{KINDS}/<int:record_id>/move/stage/<int:stage_id>/")
def move(kind: str, record_id: int, stage_id: int) -> Response | tuple[Response, int]:
    """Move a lead or deal to a stage (`{"reason_id": …}`)."""
    reason = (request.get_json(silent=True) or {}).get("reason_id")
    moved = sandbox().store.move(
        portal(), kind, record_id, stage_id, reason, APP_USER_ID
    )
    return jsonify(moved) if moved else _missing()


@bp.route(f"/entities/{KINDS}/fields/", methods=["GET", "POST"])
def fields(kind: str) -> Response | tuple[Response, int]:
    """List fields, or create a custom one (422 if the code exists)."""
    sb, current = sandbox(), portal()
    with sb.store.lock:
        if request.method == "GET":
            return jsonify({"data": list(current.fields[kind].values())})
        body = request.get_json(silent=True) or {}
        problems = {
            k: [f"The {k} field is required."]
            for k in ("name", "code", "type")
            if not body.get(k)
        }
        if not problems and not CODE.fullmatch(str(body["code"])):
            problems = {"code": ["The code may hold a-z, 0-9 and _ only."]}
        if not problems and body["type"] not in FIELD_TYPES:
            problems = {"type": ["The selected type is invalid."]}
        if not problems and body["code"] in current.fields[kind]:
            problems = {"code": ["The code has already been taken."]}
        if problems:
            return jsonify({"errors": problems, "status": False}), 422
        field = {
            "name": body["name"],
            "code": body["code"],
            "type": body["type"],
            "required": bool(body.get("required")),
            "editable": body.get("editable", True),
            "show": body.get("show", True),
            "hidden": bool(body.get("hidden")),
            "multiple": bool(body.get("multiple")),
            "system_field": False,
            "base_field": False,
            "field_section_id": body.get("field_section_id"),
            "sort": body.get("sort", 100),
            "default_value": body.get("default_value"),
            "values": body.get("values") or [],
        }
        current.fields[kind][field["code"]] = field
        for row in current.entities[kind].values():
            row.setdefault(field["code"], field["default_value"])
        return jsonify(field), 201


@bp.route(f"/entities/{KINDS}/fields/<code>/", methods=["GET", "PATCH", "DELETE"])
def field(kind: str, code: str) -> Response | tuple[Response, int]:
    """Read, update or delete one field."""
    sb, current = sandbox(), portal()
    with sb.store.lock:
        found = current.fields[kind].get(code)
        if found is None:
            return _missing()
        if request.method == "DELETE":
            if found["system_field"]:
                return jsonify(
                    {
                        "errors": {"code": ["System fields cannot be deleted."]},
                        "status": False,
                    }
                ), 422
            del current.fields[kind][code]
            return Response(status=204)
        if request.method == "PATCH":
            body = request.get_json(silent=True) or {}
            found.update({k: v for k, v in body.items() if k != "code"})
        return jsonify(found)


@bp.get("/entities/<any(leads, deals):kind>/funnel/")
def funnels(kind: str) -> Response:
    """The funnels of leads or deals with nested stages (a bare array)."""
    return jsonify(portal().funnels[kind])


@bp.get(f"/entities/{KINDS}/kanban/stage/")
def stages(kind: str) -> Response:
    """Stages, optionally of one funnel."""
    wanted = request.args.get("funnel_id", type=int)
    data = [
        stage
        for funnel in portal().funnels.get(kind, [])
        if wanted in (None, funnel["id"])
        for stage in funnel["stages"]
    ]
    return jsonify({"data": data})


@bp.get("/reasons/<int:funnel_id>/")
def reasons(funnel_id: int) -> Response:
    """SUCCESS and FAIL reasons of a funnel."""
    out: dict[str, list[Any]] = {"SUCCESS": [], "FAIL": []}
    for funnels_of_kind in portal().funnels.values():
        for funnel in funnels_of_kind:
            if funnel["id"] == funnel_id:
                for stage in funnel["stages"]:
                    if stage["stage_code"] in out:
                        out[stage["stage_code"]] += stage["reasons"]
    return jsonify(out)
