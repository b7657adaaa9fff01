"""`UspacySandbox`: the emulated Uspacy as one object — portals, the app's install
and uninstall calls, token knobs, a user's edits, and inspection. Control over HTTP
lives under `/_control/` (see `control.py`)."""

from typing import Any

import requests

from app.sandbox.clock import Clock, SystemClock
from app.sandbox.server import ServerThread
from app.sandbox.uspacy import api, control
from app.sandbox.uspacy.store import Portal, UspacyStore
from app.sandbox.uspacy.tokens import UspacyTokens, install_jwt
from app.sandbox.uspacy.webhooks import DEFAULT_RETRY_DELAYS, UspacyWebhooks

KNOBS = ("rate_limit", "tariff_exceeded", "non_admin")


class UspacySandbox:
    """An emulated Uspacy (many portals, one process) and one marketplace app."""

    def __init__(
        self,
        client_id: str = "conturs-uspacy-client",
        client_secret: str = "conturs-uspacy-sandbox-secret-change-me-0001",
        app_code: str = "conturs",
        callback_url: str | None = None,
        clock: Clock | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.client_id, self.client_secret, self.app_code = (
            client_id,
            client_secret,
            app_code,
        )
        self.callback_url = callback_url
        self.clock = clock or SystemClock()
        self.store = UspacyStore(self.clock)
        self.tokens = UspacyTokens(self.clock)
        self.webhooks = UspacyWebhooks(self.clock, retry_delays, webhook_timeout)
        self.store.listeners.append(self.webhooks.on_change)
        self.all_webhooks: dict[int, str] = {}
        self.flask_app = api.create_app(self)
        self.flask_app.register_blueprint(control.bp)
        self._server: ServerThread | None = None

    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1:`port` (0 = any free port); return the base URL."""
        self._server = ServerThread(self.flask_app, port=port).start()
        self.webhooks.base_url = self._server.base_url
        return self._server.base_url

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>` once started."""
        if self._server is None:
            raise RuntimeError("the Uspacy sandbox is not started")
        return self._server.base_url

    def stop(self) -> None:
        """Stop serving and abandon webhook retries."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.webhooks.close()

    def __enter__(self) -> "UspacySandbox":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- portals and the app's lifecycle --

    def create_portal(self, domain: str) -> Portal:
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
        self, domain: str, callback_url: str | None = None
    ) -> requests.Response:
        """DELETE `{callback}/portals/uninstall`; the portal's tokens stop working."""
        answer = self._call_app(
            "DELETE", "/portals/uninstall", domain, callback_url, None, None
        )
        self.tokens.revoke(domain)
        return answer

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

    def integration_token(self, domain: str) -> str:
        """The `integration_token` of `/apps/v1/apps` (an HS256 app-secret JWT)."""
        return self.install_jwt(domain)

    # -- knobs, a user's edits, inspection --

    def knobs(self, domain: str, **values: Any) -> dict[str, Any]:
        """`rate_limit` (next N calls get 429 + Retry-After: 1), `tariff_exceeded`
        (refresh gets 403), `non_admin` (creating webhooks gets 403)."""
        unknown = set(values) - set(KNOBS)
        if unknown:
            raise ValueError(f"unknown knobs: {sorted(unknown)}")
        portal = self.store.portals[domain]
        with self.store.lock:
            portal.knobs.update(values)
            return dict(portal.knobs)

    def act_create(
        self, domain: str, kind: str, user_id: int = 1, **values: Any
    ) -> dict[str, Any]:
        """A user creates a lead, contact, deal or company."""
        return self.store.create(self.store.portals[domain], kind, values, user_id)

    def act_update(
        self, domain: str, kind: str, record_id: int, user_id: int = 1, **values: Any
    ) -> dict[str, Any] | None:
        """A user edits a record."""
        return self.store.update(
            self.store.portals[domain], kind, record_id, values, user_id
        )

    def act_move(
        self,
        domain: str,
        kind: str,
        record_id: int,
        stage_id: int,
        reason_id: int | None = None,
        user_id: int = 1,
    ) -> dict | None:
        """A user drags a lead or deal to a stage."""
        return self.store.move(
            self.store.portals[domain], kind, record_id, stage_id, reason_id, user_id
        )

    def act_delete(
        self, domain: str, kind: str, record_id: int, user_id: int = 1
    ) -> bool:
        """A user deletes a record."""
        return self.store.delete(self.store.portals[domain], kind, record_id, user_id)

    def get_record(self, domain: str, kind: str, record_id: int) -> dict | None:
        """A record as stored."""
        with self.store.lock:
            found = self.store.get(self.store.portals[domain], kind, record_id)
            return dict(found) if found else None

    def calls(self, domain: str) -> dict[str, int]:
        """API calls the app made, per `METHOD /path/template`."""
        with self.store.lock:
            return dict(self.store.portals[domain].calls)

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST attempt so far."""
        return list(self.webhooks.deliveries)

    def seed(
        self, domain: str, leads: int = 120, deals: int = 60, seed: int = 7
    ) -> dict[str, int]:
        """Fill a portal with realistic leads, contacts and deals."""
        from app.sandbox.seed import seed_uspacy

        return seed_uspacy(self, domain, leads, deals, seed)
