"""The HubSpot app's browser routes: GET /hubspot/install sends the user to
HubSpot's consent page, /hubspot/oauth/callback completes the install, and a
plain status page per portal (reached through a signed link) says what happened.

Pages are plain HTML until the admin page exists; every value shown is escaped.
"""

import html

from flask import Blueprint, Response, current_app, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.container import services_of
from app.services.crm.hubspot_app import HubSpotApp
from app.services.errors import DomainError, InvalidInput, NotFound, Unavailable

bp = Blueprint("hubspot", __name__, url_prefix="/hubspot")

# A status link works this long after the install that produced it.
STATUS_LINK_SECONDS = 7 * 24 * 3600


def _app() -> HubSpotApp:
    hubspot = services_of(current_app).hubspot
    if hubspot is None:
        raise Unavailable(
            "The HubSpot app is not configured on this server "
            "(HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET)"
        )
    return hubspot


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="conturs.hubspot-status"
    )


@bp.get("/install")
def install() -> Response:
    """Start an install: HubSpot's consent page, with a one-time state."""
    try:
        return redirect(_app().install_url(), code=302)
    except DomainError as error:
        return _page("Conturs for HubSpot is not available", error.message, 503)


@bp.get("/oauth/callback")
def callback() -> Response:
    """HubSpot sends the user back here with a code (or an error) and the state."""
    args = request.args
    try:
        outcome = _app().complete_install(
            code=args.get("code"), state=args.get("state"), error=args.get("error")
        )
    except InvalidInput as error:
        return _page("Conturs was not installed", error.message, 400)
    except DomainError as error:
        return _page("Conturs was not installed", error.message, 503)
    token = _signer().dumps(outcome.account_id)
    return redirect(
        url_for("hubspot.status", account_id=outcome.account_id, link=token), code=302
    )


@bp.get("/accounts/<account_id>")
def status(account_id: str) -> Response:
    """The portal's status page, for whoever holds the link from the install."""
    try:
        signed = _signer().loads(
            request.args.get("link", ""), max_age=STATUS_LINK_SECONDS
        )
    except BadSignature:
        signed = None
    if signed != account_id:
        return _page("Link expired", "Open Conturs from HubSpot again.", 403)
    try:
        details = _app().describe(account_id)
    except NotFound as error:
        return _page("Unknown portal", error.message, 404)
    except DomainError as error:
        return _page("Conturs is not available", error.message, 503)
    return _status_page(details)


def _status_page(details: dict[str, object]) -> Response:
    rows = "".join(
        f"<tr><th>{html.escape(label)}</th><td>{html.escape(_text(value))}</td></tr>"
        for label, value in (
            ("Portal", details["account"]),
            ("Status", details["status"]),
            ("Granted scopes", " ".join(details["scopes"] or [])),  # type: ignore[arg-type]
            ("Installed by", details["installed_by"]),
            ("Installed at", details["installed_at"]),
            ("Last problem", details["last_error"] or "none"),
        )
    )
    off = details["features_off"] or []
    notes = "".join(f"<li>{html.escape(str(item))}</li>" for item in off)  # type: ignore[union-attr]
    body = (
        f"<table>{rows}</table>"
        + (f"<h2>Switched off</h2><ul>{notes}</ul>" if notes else "")
        + "<p>Scores appear on contacts in the Conturs property group.</p>"
    )
    return _page("Conturs is connected", body, 200, raw=True)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _page(title: str, message: str, status: int, raw: bool = False) -> Response:
    content = message if raw else f"<p>{html.escape(message)}</p>"
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        f"<body><h1>{html.escape(title)}</h1>{content}</body></html>"
    )
    return Response(page, status=status, mimetype="text/html")
