"""OAuth routes: the consent page, `/oauth/v1/token`, token info, refresh-token
deletion and the app-initiated uninstall (HubSpot's API documentation)."""

import html
import secrets
from urllib.parse import urlencode

from flask import Blueprint, Response, g, jsonify, redirect, request

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.tokens import Grant

bp = Blueprint("hubspot_oauth", __name__)
TOKEN_PATHS = (
    "/oauth/v1/token",
    "/oauth/v3/token",
    "/oauth/2026-03/token",
    "/oauth/2026-09/token",
)
UNINSTALL_PATHS = (
    "/appinstalls/v3/external-install",
    "/appinstalls/2026-03/external-install",
    "/appinstalls/2026-09/external-install",
)


def _oauth_error(status: str, message: str, error: str, code: int = 400) -> Response:
    """Legacy `status`/`message` plus RFC 6749 `error`/`error_description`."""
    response = jsonify(
        {
            "status": status,
            "message": message,
            "correlationId": errors.correlation_id(),
            "error": error,
            "error_description": message,
        }
    )
    response.status_code = code
    return response


@bp.get("/oauth/authorize")
@bp.get("/oauth/<int:pinned_hub>/authorize")
def authorize(pinned_hub: int | None = None) -> Response | str:
    """The consent page: pick a portal and a user, then connect or cancel."""
    sb, args = sandbox(), request.args
    problem = _check_authorize(args)
    if problem:
        return Response(
            f"<h1>Authorization error</h1><p>{html.escape(problem)}</p>",
            status=400,
            mimetype="text/html",
        )
    hub = pinned_hub or (min(sb.store.accounts) if sb.store.accounts else 1000001)
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in args.items()
    )
    return (
        "<!doctype html><title>Connect app</title><h1>Connect Conturs to HubSpot"
        f'</h1><form method="post" action="/oauth/authorize">{hidden}'
        f'<label>Hub id <input name="hub_id" value="{hub}"></label>'
        '<label>User email <input name="user" value="admin@example.com"></label>'
        '<button name="decision" value="allow">Connect app</button>'
        '<button name="decision" value="deny">Cancel</button></form>'
    )


def _check_authorize(args) -> str | None:
    app = sandbox().app_config
    if args.get("client_id") != app.client_id:
        return "Unknown client_id."
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri or (
        app.redirect_urls and redirect_uri not in app.redirect_urls
    ):
        return "The redirect_uri does not match the app's redirect URLs."
    scopes = set(args.get("scope", "").split())
    missing = [s for s in app.required_scopes if s not in scopes]
    if missing:
        return "The scope parameter lacks required scopes: " + " ".join(missing)
    return None


@bp.post("/oauth/authorize")
def decide() -> Response:
    """Redirect back with `code` (connect) or `error=access_denied` (cancel)."""
    form = request.form
    problem = _check_authorize(form)
    if problem:
        return Response(problem, status=400)
    target = form["redirect_uri"]
    query: dict[str, str] = {}
    if form.get("decision") != "allow":
        query = {
            "error": "access_denied",
            "error_description": "The user declined to install the app.",
        }
    else:
        sb = sandbox()
        account = sb.create_account(
            int(form.get("hub_id") or 1000001), user=form.get("user") or None
        )
        scopes = form.get("scope", "").split() + form.get("optional_scope", "").split()
        query = {
            "code": sb.tokens.issue_code(
                Grant(
                    account.hub_id,
                    account.user_id,
                    form.get("user") or account.user,
                    sorted(set(scopes)),
                    redirect_uri=target,
                )
            )
        }
    if form.get("state"):
        query["state"] = form["state"]
    separator = "&" if "?" in target else "?"
    return redirect(f"{target}{separator}{urlencode(query)}", code=302)


def token() -> Response:
    """Exchange a code or a refresh token (form-encoded only)."""
    sb, form = sandbox(), request.form
    grant_type = form.get("grant_type")
    if grant_type not in ("authorization_code", "refresh_token"):
        return _oauth_error(
            "BAD_GRANT_TYPE",
            "grant_type must be authorization_code or refresh_token",
            "unsupported_grant_type",
        )
    if form.get("client_id") != sb.app_config.client_id:
        return _oauth_error(
            "BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client"
        )
    if form.get("client_secret") != sb.app_config.client_secret:
        return _oauth_error(
            "BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client"
        )
    if grant_type == "authorization_code":
        grant = sb.tokens.redeem_code(form.get("code", ""))
        if grant is None:
            return _oauth_error(
                "BAD_AUTH_CODE", "missing or unknown auth code", "invalid_grant"
            )
        if form.get("redirect_uri") != grant.redirect_uri:
            return _oauth_error(
                "BAD_REDIRECT_URI",
                "redirect_uri does not match the one used to authorize",
                "invalid_grant",
            )
        sb.store.account(grant.hub_id).installed = True
        return jsonify(sb.tokens.issue(grant))
    refresh_token = form.get("refresh_token", "")
    grant = sb.tokens.refresh.get(refresh_token)
    if grant is None:
        return _oauth_error(
            "BAD_REFRESH_TOKEN",
            "refresh token is invalid, expired or revoked",
            "invalid_grant",
        )
    return jsonify(sb.tokens.issue(grant, refresh_token=refresh_token))


for _path in TOKEN_PATHS:
    bp.add_url_rule(_path, endpoint=f"token{_path}", view_func=token, methods=["POST"])


@bp.get("/oauth/v1/access-tokens/<path:access_token>")
def access_token_info(access_token: str) -> Response:
    """Token metadata: hub_id, user, scopes, and seconds left."""
    sb = sandbox()
    grant = sb.tokens.lookup(access_token)
    left = int(grant.expires_at - sb.clock.now()) if grant else 0
    if grant is None or left <= 0:
        return _oauth_error(
            "BAD_ACCESS_TOKEN",
            "access token is invalid or expired",
            "invalid_token",
            404,
        )
    account = sb.store.account(grant.hub_id)
    return jsonify(
        {
            "token": access_token,
            "user": grant.user,
            "hub_domain": account.hub_domain,
            "scopes": grant.scopes,
            "hub_id": grant.hub_id,
            "app_id": sb.app_config.app_id,
            "expires_in": left,
            "user_id": grant.user_id,
            "token_type": "access",
            "signed_access_token": {
                "expiresAt": int(grant.expires_at * 1000),
                "scopes": secrets.token_hex(8),
                "hubId": grant.hub_id,
                "userId": grant.user_id,
                "appId": sb.app_config.app_id,
                "hublet": "na1",
                "isUserLevel": False,
            },
        }
    )


@bp.route("/oauth/v1/refresh-tokens/<path:refresh_token>", methods=["GET", "DELETE"])
def refresh_token_info(refresh_token: str) -> Response:
    """Read or delete one refresh token."""
    sb = sandbox()
    grant = sb.tokens.refresh.get(refresh_token)
    if grant is None:
        return _oauth_error(
            "BAD_REFRESH_TOKEN",
            "missing or unknown refresh token",
            "invalid_grant",
            404,
        )
    if request.method == "DELETE":
        sb.tokens.delete_refresh(refresh_token)
        return Response(status=204)
    account = sb.store.account(grant.hub_id)
    return jsonify(
        {
            "token": refresh_token,
            "user": grant.user,
            "hub_domain": account.hub_domain,
            "scopes": grant.scopes,
            "hub_id": grant.hub_id,
            "client_id": sb.app_config.client_id,
            "user_id": grant.user_id,
            "token_type": "refresh",
        }
    )


def uninstall() -> Response:
    """Uninstall the app from the caller's account: every token stops working."""
    sandbox().uninstall(g.account.hub_id)
    return Response(status=204)
