"""Token endpoints of every OAuth version (HubSpot's API documentation and specs):

- `POST /oauth/{v1|v3|2026-03|2026-09}/token`, form-encoded only, with the
  `authorization_code` and `refresh_token` grants;
- `POST /oauth/{v3|2026-03|2026-09}/token/introspect` and `/token/revoke`.

Every call is counted per portal and grant type (`TokenBook.call_counts`), so
tests can tell how often an app refreshed. v1 keeps its legacy error body; the
newer versions add `category` and `subCategory`.
"""

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from app.sandbox.hubspot import errors
from app.sandbox.hubspot.context import sandbox
from app.sandbox.hubspot.token_info import access_info, refresh_info, token_response

bp = Blueprint("hubspot_tokens", __name__)
VERSIONS = ("v1", "v3", "2026-03", "2026-09")
DATED_VERSIONS = VERSIONS[1:]
MAX_FIELD_LENGTH = 4096


class OAuthFailure(Exception):
    """An OAuth error to answer with (legacy status, message, RFC 6749 error)."""

    def __init__(self, status: str, message: str, error: str, code: int = 400):
        super().__init__(message)
        self.status, self.message, self.error, self.code = status, message, error, code


def _form() -> MultiDict:
    """The form fields; HubSpot's token endpoints take nothing but a form."""
    if request.mimetype != "application/x-www-form-urlencoded":
        raise OAuthFailure(
            "BAD_REQUEST",
            "the request body must be application/x-www-form-urlencoded",
            "invalid_request",
        )
    form = request.form
    if any(len(value) > MAX_FIELD_LENGTH for value in form.values()):
        raise OAuthFailure("BAD_REQUEST", "a form field is too long", "invalid_request")
    return form


def _check_client(form: MultiDict) -> None:
    config = sandbox().app_config
    if form.get("client_id") != config.client_id:
        raise OAuthFailure(
            "BAD_CLIENT_ID", "missing or invalid client_id", "invalid_client"
        )
    if form.get("client_secret") != config.client_secret:
        raise OAuthFailure(
            "BAD_CLIENT_SECRET", "missing or invalid client secret", "invalid_client"
        )


def _answer(version: str, endpoint: str, hub_id: int | None, work) -> Response:
    """Run `work`, turn an OAuthFailure into HubSpot's error body, count the call."""
    try:
        response = work()
    except OAuthFailure as failure:
        response = errors.oauth_error(
            version != "v1",
            failure.status,
            failure.message,
            failure.error,
            failure.code,
        )
    grant_type = request.form.get("grant_type") if endpoint == "token" else None
    sandbox().tokens.record_call(
        hub_id, endpoint, version, grant_type, response.status_code
    )
    return response


def token(version: str) -> Response:
    """Exchange a code or a refresh token."""
    book, form = sandbox().tokens, request.form
    if form.get("grant_type") == "authorization_code":
        hub_id = book.hub_of_code(form.get("code", ""))
    else:
        hub_id = book.hub_of_refresh(form.get("refresh_token", ""))
    return _answer(version, "token", hub_id, lambda: _exchange(version))


def _exchange(version: str) -> Response:
    sb, form = sandbox(), _form()
    grant_type = form.get("grant_type")
    # client_credentials (developer-level APIs only) is not emulated.
    if grant_type not in ("authorization_code", "refresh_token"):
        raise OAuthFailure(
            "BAD_GRANT_TYPE",
            "grant_type must be authorization_code or refresh_token",
            "unsupported_grant_type",
        )
    _check_client(form)
    if grant_type == "authorization_code":
        grant = sb.tokens.redeem_code(form.get("code", ""))
        if grant is None:
            raise OAuthFailure(
                "BAD_AUTH_CODE", "missing or unknown auth code", "invalid_grant"
            )
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthFailure(
                "BAD_REDIRECT_URI",
                "redirect_uri does not match the one used to authorize",
                "invalid_grant",
            )
        account = sb.store.account(grant.hub_id)
        account.installed = True
        issued = sb.tokens.issue(grant, account.knobs["access_token_seconds"])
        return jsonify(token_response(issued, version))
    refresh_token = form.get("refresh_token", "")
    grant = sb.tokens.lookup_refresh(refresh_token)
    issued = None
    if grant is not None:
        knobs = sb.store.account(grant.hub_id).knobs
        issued = sb.tokens.renew(
            refresh_token,
            knobs["access_token_seconds"],
            knobs["rotate_refresh_tokens"],
        )
    if issued is None:
        raise OAuthFailure(
            "BAD_REFRESH_TOKEN",
            "refresh token is invalid, expired or revoked",
            "invalid_grant",
        )
    return jsonify(token_response(issued, version))


def _token_field(form: MultiDict) -> str:
    value = form.get("token", "")
    if not value:
        raise OAuthFailure("BAD_REQUEST", "token is required", "invalid_request")
    return value


def _hub_of_token(value: str) -> int | None:
    book = sandbox().tokens
    grant = book.lookup(value)
    return grant.hub_id if grant else book.hub_of_refresh(value)


def introspect(version: str) -> Response:
    """`PublicAccessTokenInfoResponse` or `PublicRefreshTokenInfoResponse`;
    `{"active": false}` for an unknown, expired or revoked token (RFC 7662; the
    exact inactive body is unpublished)."""
    hub_id = _hub_of_token(request.form.get("token", ""))
    return _answer(version, "introspect", hub_id, _introspect_body)


def _introspect_body() -> Response:
    sb, form = sandbox(), _form()
    _check_client(form)
    value = _token_field(form)
    kinds = ["access", "refresh"]
    if form.get("token_type_hint") == "refresh_token":
        kinds.reverse()
    # As RFC 7662 asks, a wrong hint only changes where the search starts.
    for kind in kinds:
        if kind == "access":
            grant = sb.tokens.lookup(value)
            left = int(grant.expires_at - sb.clock.now()) if grant else 0
            if grant is not None and left > 0:
                return jsonify(access_info(sb, grant, value, left, introspect=True))
        else:
            grant = sb.tokens.lookup_refresh(value)
            if grant is not None:
                return jsonify(refresh_info(sb, grant, value, introspect=True))
    return jsonify({"active": False})


def revoke(version: str) -> Response:
    """Revoke a refresh token; access tokens already issued stay valid until they
    expire, and the app stays installed."""
    hub_id = _hub_of_token(request.form.get("token", ""))
    return _answer(version, "revoke", hub_id, _revoke)


def _revoke() -> Response:
    sb, form = sandbox(), _form()
    _check_client(form)
    value = _token_field(form)
    # HubSpot documents the endpoint for refresh tokens only; refusing access
    # tokens is the stricter guess.
    if sb.tokens.lookup(value) is not None:
        raise OAuthFailure(
            "BAD_TOKEN_TYPE",
            "only refresh tokens can be revoked",
            "unsupported_token_type",
        )
    # RFC 7009: an unknown or already revoked token is no error. The success
    # status is unpublished; 200 with an empty body is the RFC's.
    sb.tokens.delete_refresh(value)
    return Response(status=200)


for _version in VERSIONS:
    bp.add_url_rule(
        f"/oauth/{_version}/token",
        endpoint=f"token-{_version}",
        view_func=token,
        methods=["POST"],
        defaults={"version": _version},
    )
for _version in DATED_VERSIONS:
    for _name, _view in (("introspect", introspect), ("revoke", revoke)):
        bp.add_url_rule(
            f"/oauth/{_version}/token/{_name}",
            endpoint=f"{_name}-{_version}",
            view_func=_view,
            methods=["POST"],
            defaults={"version": _version},
        )
