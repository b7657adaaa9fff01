"""The Uspacy app's callbacks and settings page, under the callback URL
`/uspacy/v1` the app is registered with (app/crm/uspacy/manifest.py):

- POST /portals/install: Uspacy posts a portal's tokens after its admin
  installed the app; 200 `{"status": true, "message": "success"}`.
- DELETE or POST /portals/uninstall (and Uspacy's `uinstall` spelling): 204.
- GET or POST /settings: the portal's settings page (plain HTML until the admin
  page exists), for the app's `./settings` entry.

Callbacks answer Uspacy's error shape `{"errors": {"text": "..."}, "status":
true}`: 401 for a JWT that does not prove the caller, 422 for an install body
that cannot be used, 503 when the app is not configured here. Every value a
page shows is escaped.
"""

import html
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, request

from app.container import services_of
from app.crm.uspacy.manifest import INSTALL_PATH, SETTINGS_PATH, UNINSTALL_PATHS
from app.services.crm.uspacy_app import UspacyApp
from app.services.crm.uspacy_setup import WEBHOOK_NEEDS_ADMIN
from app.services.errors import (
    DomainError,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Unavailable,
)

bp = Blueprint("uspacy", __name__)

NOT_CONFIGURED = (
    "The Uspacy app is not configured on this server "
    "(USPACY_CLIENT_ID and USPACY_CLIENT_SECRET)"
)


def _app() -> UspacyApp:
    uspacy = services_of(current_app).uspacy
    if uspacy is None:
        raise Unavailable(NOT_CONFIGURED)
    return uspacy


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _refusal(error: DomainError) -> Response:
    status = (
        401
        if isinstance(error, NotAuthenticated)
        else 422
        if isinstance(error, InvalidInput)
        else 404
        if isinstance(error, NotFound)
        else 503
    )
    return _json(status, {"errors": {"text": error.message}, "status": True})


@bp.post(INSTALL_PATH)
def install() -> Response:
    """Uspacy installed the app on a portal: store its tokens, set it up."""
    body = request.get_json(silent=True)
    try:
        _app().install(request.headers.get("Authorization"), body)
    except DomainError as error:
        return _refusal(error)
    return _json(200, {"status": True, "message": "success"})


def uninstall() -> Response:
    """Uspacy removed the app from a portal: stop calling it."""
    try:
        _app().uninstall(request.headers.get("Authorization"))
    except DomainError as error:
        return _refusal(error)
    return Response(status=204)


for _path in UNINSTALL_PATHS:
    bp.add_url_rule(
        _path,
        endpoint=_path.rpartition("/")[2],
        view_func=uninstall,
        methods=["DELETE", "POST"],
    )


@bp.route(SETTINGS_PATH, methods=["GET", "POST"])
def settings() -> Response:
    """The portal's settings page: status, fields, and the webhook URL with
    instructions where only the portal's admin can add the webhook."""
    authorization = request.headers.get("Authorization")
    if not authorization and request.method == "POST":
        # A plain HTML form posts the token (never in the URL, which is logged).
        authorization = f"Bearer {request.form.get('token', '')}"
    try:
        uspacy = _app()
        details = uspacy.describe(uspacy.settings_portal(authorization))
    except NotAuthenticated as error:
        return _page("Open Conturs from Uspacy", html.escape(error.message), 401)
    except NotFound as error:
        return _page("Unknown portal", html.escape(error.message), 404)
    except DomainError as error:
        return _page("Conturs is not available", html.escape(error.message), 503)
    return _page("Conturs lead scoring", _settings_body(details), 200)


def _settings_body(details: dict[str, Any]) -> str:
    codes = details["field_codes"] or {}
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(_text(value))}</td></tr>"
        for label, value in (
            ("Portal", details["account"]),
            ("Status", details["status"]),
            ("Webhook", details["webhook_status"] or "not registered"),
            ("Lead fields", " ".join(sorted((codes.get("leads") or {}).values()))),
            (
                "Contact fields",
                " ".join(sorted((codes.get("contacts") or {}).values())),
            ),
            ("Records scored", details["contacts_scored"]),
            ("Installed at", details["installed_at"]),
            ("Last problem", details["last_error"] or "none"),
        )
    )
    body = f"<table>{rows}</table>"
    if details["webhook_status"] != WEBHOOK_NEEDS_ADMIN:
        return body + "<p>Scores appear on leads and contacts in Conturs fields.</p>"
    events = "".join(
        f"<li>{html.escape(item['table'])}: {html.escape(', '.join(item['actions']))}"
        "</li>"
        for item in details["webhook_events"]
    )
    return body + (
        "<h2>Add the webhook</h2>"
        "<p>Only the portal's owner or an administrator may add webhooks, so "
        "Conturs could not add its own. Open Automation → Webhooks, add an "
        "outgoing webhook with this endpoint, switch it on, and choose these "
        "events:</p>"
        f"<p><code>{html.escape(_text(details['webhook_url']))}</code></p>"
        f"<ul>{events}</ul>"
        "<p>Keep the address private: it is what tells Conturs the events come "
        "from this portal.</p>"
    )


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _page(title: str, content: str, status: int) -> Response:
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")
