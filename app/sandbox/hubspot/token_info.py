"""What HubSpot tells about a token: the token responses of each OAuth version,
v1 token info (`GET /oauth/v1/access-tokens|refresh-tokens/{token}`, plus the
v1 refresh-token DELETE) and the bodies of the date-versioned introspect
(HubSpot's API documentation and specs)."""

import hashlib
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, jsonify, request

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.tokens import Grant, Issued

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox

bp = Blueprint("hubspot_token_info", __name__)


def token_response(issued: Issued, version: str) -> dict[str, Any]:
    """The token endpoint's answer. Since 2025-08-18 v1 adds `hub_id` and
    `scopes`; v3 and the dated versions also give `user_id` and `token_use`.
    No `id_token`: the sandbox offers no OpenID scopes."""
    grant = issued.grant
    body: dict[str, Any] = {
        "token_type": "bearer",
        "refresh_token": issued.refresh_token,
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "hub_id": grant.hub_id,
        "scopes": list(grant.scopes),
    }
    if version != "v1":
        body["user_id"] = grant.user_id
        body["token_use"] = "access_token"
    return body


def _signed(sb: "HubSpotSandbox", grant: Grant, token: str) -> dict[str, Any]:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return {
        "expiresAt": int(grant.expires_at * 1000),
        "scopes": digest[:16],
        "hubId": grant.hub_id,
        "userId": grant.user_id,
        "appId": sb.app_config.app_id,
        "hublet": "na1",
        "isUserLevel": False,
        "isPrivateDistribution": False,
        "isServiceAccount": False,
        "installingUserId": grant.user_id,
        "signature": digest[16:44],
    }


def access_info(
    sb: "HubSpotSandbox", grant: Grant, token: str, left: int, introspect: bool
) -> dict[str, Any]:
    """Access-token info (v1) or `PublicAccessTokenInfoResponse` (introspect)."""
    body: dict[str, Any] = {
        "token": token,
        "user": grant.user,
        "hub_domain": sb.store.account(grant.hub_id).hub_domain,
        "scopes": list(grant.scopes),
        "hub_id": grant.hub_id,
        "app_id": sb.app_config.app_id,
        "expires_in": left,
        "user_id": grant.user_id,
        "token_type": "access",
        "signed_access_token": _signed(sb, grant, token),
    }
    if introspect:
        body |= {
            "active": True,
            "client_id": sb.app_config.client_id,
            "is_private_distribution": False,
            "token_use": "access_token",
        }
    return body


def refresh_info(
    sb: "HubSpotSandbox", grant: Grant, token: str, introspect: bool
) -> dict[str, Any]:
    """Refresh-token info (v1) or `PublicRefreshTokenInfoResponse` (introspect)."""
    body: dict[str, Any] = {
        "token": token,
        "user": grant.user,
        "hub_domain": sb.store.account(grant.hub_id).hub_domain,
        "scopes": list(grant.scopes),
        "hub_id": grant.hub_id,
        "client_id": sb.app_config.client_id,
        "user_id": grant.user_id,
        "token_type": "refresh",
    }
    if introspect:
        body |= {
            "active": True,
            "app_id": sb.app_config.app_id,
            "token_use": "refresh_token",
        }
    return body


@bp.get("/oauth/v1/access-tokens/<path:access_token>")
def access_token_info(access_token: str) -> Response:
    """Token metadata: hub_id, user, scopes, and seconds left."""
    sb = sandbox()
    grant = sb.tokens.lookup(access_token)
    left = int(grant.expires_at - sb.clock.now()) if grant else 0
    if grant is None or left <= 0:
        return errors.oauth_error(
            False,
            "BAD_ACCESS_TOKEN",
            "access token is invalid or expired",
            "invalid_token",
            404,
        )
    return jsonify(access_info(sb, grant, access_token, left, introspect=False))


@bp.route("/oauth/v1/refresh-tokens/<path:refresh_token>", methods=["GET", "DELETE"])
def refresh_token_info(refresh_token: str) -> Response:
    """Read or delete one refresh token (deleting does not uninstall the app)."""
    sb = sandbox()
    grant = sb.tokens.lookup_refresh(refresh_token)
    if grant is None:
        return errors.oauth_error(
            False,
            "BAD_REFRESH_TOKEN",
            "missing or unknown refresh token",
            "invalid_grant",
            404,
        )
    if request.method == "DELETE":
        sb.tokens.delete_refresh(refresh_token)
        return Response(status=204)
    return jsonify(refresh_info(sb, grant, refresh_token, introspect=False))
