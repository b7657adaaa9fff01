"""Uspacy's marketplace calling the app: install posts the tokens with an HS256
install JWT to `{callback_url}/portals/install`; uninstall calls
`{callback_url}/portals/uninstall` with DELETE, as Uspacy's Laravel template
routes it. Uspacy's knowledge base spells the path `uinstall`, and whether the
method can be POST is unknown, so both are selectable per call: an app must be
tested against all four.
"""

from typing import TYPE_CHECKING, Any

import requests

from app.sandbox.uspacy.tokens import install_jwt

if TYPE_CHECKING:
    from app.sandbox.clock import Clock
    from app.sandbox.uspacy.store import Portal, UspacyStore
    from app.sandbox.uspacy.tokens import UspacyTokens

UNINSTALL_PATHS = ("uninstall", "uinstall")
UNINSTALL_METHODS = ("DELETE", "POST")


class Marketplace:
    """Mixed into `UspacySandbox`, which provides the store, tokens and app."""

    store: "UspacyStore"
    tokens: "UspacyTokens"
    clock: "Clock"
    client_secret: str
    app_code: str
    callback_url: str | None

    def create_portal(self, domain: str) -> "Portal":
        """Create (or return) a portal, e.g. `acme.uspacy.ua`."""
        return self.store.create_portal(domain)

    def mint_tokens(self, domain: str) -> dict[str, Any]:
        """A fresh `{jwt, refreshToken, expireInSeconds}` without an install call."""
        self.create_portal(domain)
        return self.tokens.issue(domain)

    def install_jwt(self, domain: str, secret: str | None = None) -> str:
        """The Bearer JWT Uspacy sends with install/uninstall calls."""
        return install_jwt(
            secret or self.client_secret, domain, self.clock.now(), self.app_code
        )

    def integration_token(self, domain: str) -> str:
        """The `integration_token` of `/apps/v1/apps` (an HS256 app-secret JWT)."""
        return self.install_jwt(domain)

    def install(
        self, domain: str, callback_url: str | None = None, secret: str | None = None
    ) -> requests.Response:
        """POST `{callback}/portals/install` as Uspacy does after an install."""
        self.create_portal(domain)
        pair = self.tokens.issue(domain)
        body = {
            "token": pair["jwt"],
            "refresh_token": pair["refreshToken"],
            "expiry_date": int(self.clock.now()) + pair["expireInSeconds"],
        }
        return self._call_app(
            "POST", "/portals/install", domain, callback_url, secret, body
        )

    def uninstall(
        self,
        domain: str,
        callback_url: str | None = None,
        path: str = "uninstall",
        method: str = "DELETE",
    ) -> requests.Response:
        """Call `{callback}/portals/{path}` (`uninstall` or `uinstall`) with
        `method` (DELETE or POST); the portal's tokens stop working whatever the
        app answers. ValueError for another path or method."""
        if path not in UNINSTALL_PATHS:
            raise ValueError(f"path must be one of {list(UNINSTALL_PATHS)}")
        if method.upper() not in UNINSTALL_METHODS:
            raise ValueError(f"method must be one of {list(UNINSTALL_METHODS)}")
        try:
            return self._call_app(
                method.upper(), f"/portals/{path}", domain, callback_url, None, None
            )
        finally:
            self.tokens.revoke(domain)

    def _call_app(
        self,
        method: str,
        path: str,
        domain: str,
        callback_url: str | None,
        secret: str | None,
        body: dict | None,
    ) -> requests.Response:
        base = (callback_url or self.callback_url or "").rstrip("/")
        if not base:
            raise ValueError("no callback_url for the app")
        headers = {"Authorization": f"Bearer {self.install_jwt(domain, secret)}"}
        with requests.Session() as session:
            return session.request(
                method, base + path, json=body, headers=headers, timeout=10
            )
