"""The consent page (`/oauth/authorize`, `/oauth/{hubId}/authorize`) and the
app-initiated uninstall (`DELETE /appinstalls/{v3|2026-03|2026-09}/external-install`),
as HubSpot's OAuth documentation describes them.

The redirect URI must be one of the app's configured redirect URLs, or HubSpot
shows an error page and never redirects. Cancel redirects with
`error=access_denied`. Optional scopes the portal lacks are silently not granted;
a required scope the portal lacks fails the install.
"""

import html
from urllib.parse import urlencode

from flask import Blueprint, Response, g, redirect, request
from werkzeug.datastructures import MultiDict

from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.ids import check_hub_id
from app.sandbox.hubspot.model import Account
from app.sandbox.hubspot.tokens import Grant

bp = Blueprint("hubspot_oauth", __name__)
UNINSTALL_PATHS = (
    "/appinstalls/v3/external-install",
    "/appinstalls/2026-03/external-install",
    "/appinstalls/2026-09/external-install",
)
DEFAULT_HUB_ID = 48213377
MAX_PARAM_LENGTH = 4096


def _error_page(problem: str) -> Response:
    return Response(
        f"<!doctype html><h1>Authorization error</h1><p>{html.escape(problem)}</p>",
        status=400,
        mimetype="text/html",
    )


def _check_authorize(args: MultiDict) -> str | None:
    app = sandbox().app_config
    if any(len(value) > MAX_PARAM_LENGTH for value in args.values()):
        return "A parameter is too long."
    if args.get("client_id") != app.client_id:
        return "Unknown client_id."
    if not app.redirect_urls:
        return "The app has no redirect URL configured."
    if args.get("redirect_uri", "") not in app.redirect_urls:
        return "The redirect_uri does not match the app's redirect URLs."
    scopes = set(args.get("scope", "").split())
    missing = [s for s in app.required_scopes if s not in scopes]
    if missing:
        return "The scope parameter lacks required scopes: " + " ".join(missing)
    return None


@bp.get("/oauth/authorize")
@bp.get("/oauth/<int:pinned_hub>/authorize")
def authorize(pinned_hub: int | None = None) -> Response | str:
    """The consent page: pick a portal and a user, then connect or cancel."""
    sb, args = sandbox(), request.args
    problem = _check_authorize(args)
    if problem:
        return _error_page(problem)
    hub = pinned_hub or (min(sb.store.accounts) if sb.store.accounts else None)
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in args.items()
    )
    return (
        "<!doctype html><title>Connect app</title><h1>Connect Conturs to HubSpot"
        f'</h1><form method="post" action="/oauth/authorize">{hidden}'
        f'<label>Hub id <input name="hub_id" value="{hub or DEFAULT_HUB_ID}">'
        '</label><label>User email <input name="user" value="admin@example.com">'
        '</label><button name="decision" value="allow">Connect app</button>'
        '<button name="decision" value="deny">Cancel</button></form>'
    )


@bp.post("/oauth/authorize")
def decide() -> Response:
    """Redirect back with `code` (connect) or `error=access_denied` (cancel)."""
    form = request.form
    problem = _check_authorize(form)
    if problem:
        return _error_page(problem)
    target = form["redirect_uri"]
    if form.get("decision") != "allow":
        query = {
            "error": "access_denied",
            "error_description": "The user declined to install the app.",
        }
    else:
        try:
            hub_id = check_hub_id(form.get("hub_id") or DEFAULT_HUB_ID)
        except ValueError as bad:
            return _error_page(str(bad))
        sb = sandbox()
        account = sb.create_account(hub_id, user=form.get("user") or None)
        granted = _granted_scopes(account, form)
        if isinstance(granted, Response):
            return granted
        grant = Grant(
            account.hub_id,
            account.user_id,
            form.get("user") or account.user,
            granted,
            redirect_uri=target,
        )
        query = {"code": sb.tokens.issue_code(grant)}
    if form.get("state"):
        query["state"] = form["state"]
    separator = "&" if "?" in target else "?"
    return redirect(f"{target}{separator}{urlencode(query)}", code=302)


def _granted_scopes(account: Account, form: MultiDict) -> list[str] | Response:
    """Requested scopes plus the optional ones the portal has; a required scope
    the portal lacks is an install error (shown on HubSpot's page, no redirect:
    the stricter guess)."""
    lacking = set(account.knobs["unavailable_scopes"])
    required = form.get("scope", "").split()
    blocked = sorted(lacking.intersection(required))
    if blocked:
        return _error_page(
            "This account does not have access to the scopes: " + " ".join(blocked)
        )
    optional = set(form.get("optional_scope", "").split()) - lacking
    return sorted(set(required) | optional)


def uninstall() -> Response:
    """Uninstall the app from the caller's account: every token stops working."""
    sandbox().uninstall(g.account.hub_id)
    return Response(status=204)
