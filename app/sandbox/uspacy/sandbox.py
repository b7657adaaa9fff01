"""`UspacySandbox`: the emulated Uspacy as one object — portals, the app's install
and uninstall calls, token knobs, a user's edits, and inspection. Control over HTTP
lives under `/_control/` (see `control.py`)."""

import threading
from typing import Any

from app.sandbox.clock import Clock, SystemClock
from app.sandbox.server import ServedEmulation
from app.sandbox.uspacy import api, control
from app.sandbox.uspacy.faults import (
    DELIVERY_CHECKS,
    FAULT_CHECKS,
    KNOB_CHECKS,
    checked,
)
from app.sandbox.uspacy.hosts import portal_base_url
from app.sandbox.uspacy.marketplace import Marketplace
from app.sandbox.uspacy.store import UspacyStore, reseed
from app.sandbox.uspacy.throttle import PortalThrottle
from app.sandbox.uspacy.tokens import UspacyTokens
from app.sandbox.uspacy.webhooks import DEFAULT_RETRY_DELAYS, UspacyWebhooks


class UspacySandbox(Marketplace, ServedEmulation):
    """An emulated Uspacy (many portals, one process) and one marketplace app."""

    name = "Uspacy"

    def __init__(
        self,
        client_id: str = "conturs-uspacy-client",
        client_secret: str = "conturs-uspacy-sandbox-secret-change-me-0001",
        app_code: str = "conturs",
        callback_url: str | None = None,
        clock: Clock | None = None,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 10.0,
        seed: int = 0,
    ) -> None:
        """`seed` fixes every portal's fault and delivery draws. The API
        answers only under per-portal base URLs (`/_portal/{domain}`), as each
        real portal has its own host."""
        self.client_id, self.client_secret, self.app_code = (
            client_id,
            client_secret,
            app_code,
        )
        self.callback_url = callback_url
        self.clock = clock or SystemClock()
        self.stopping = threading.Event()
        self.store = UspacyStore(self.clock, seed)
        self.throttle = PortalThrottle(self.clock)
        self.tokens = UspacyTokens(self.clock)
        self.webhooks = UspacyWebhooks(self.clock, retry_delays, webhook_timeout)
        self.store.listeners.append(self.webhooks.on_change)
        self.all_webhooks: dict[int, str] = {}
        self.flask_app = api.create_app(self)
        self.flask_app.register_blueprint(control.bp)

    def _started(self, base_url: str) -> None:
        self.webhooks.base_url = base_url

    def portal_base_url(self, domain: str) -> str:
        """The base URL of one portal, as `https://{domain}` is in production."""
        return portal_base_url(self.base_url, domain)

    @property
    def base_url_template(self) -> str:
        """The app's `USPACY_BASE_URL_TEMPLATE` for this emulation."""
        return portal_base_url(self.base_url, "{domain}")

    # -- knobs, a user's edits, inspection --

    def knobs(self, domain: str, **values: Any) -> dict[str, Any]:
        """`rate_limit` (next N calls get 429 + Retry-After: 1), `tariff_exceeded`
        (refresh gets 403), `non_admin` (creating webhooks gets 403),
        `calls_per_window`/`window_seconds` (the throttle, see `throttle.py`).
        Returns the knobs set so far."""
        clean = checked(values, KNOB_CHECKS)
        portal = self.store.portals[domain]
        with self.store.lock:
            portal.knobs.update(clean)
            return dict(portal.knobs)

    def faults(self, domain: str, **values: Any) -> dict[str, Any]:
        """Read or set `error_rate`, `throttle_rate`, `retry_after`, `hang_rate`,
        `hang_seconds`, `latency`, `seed` (see `faults.py`)."""
        return self._settings(domain, "faults", FAULT_CHECKS, values)

    def delivery(self, domain: str, **values: Any) -> dict[str, Any]:
        """Read or set webhook `envelope` (plain | sns), `duplicate_rate`,
        `reorder_rate`, `seed` (see `faults.py`)."""
        return self._settings(domain, "delivery", DELIVERY_CHECKS, values)

    def _settings(
        self, domain: str, name: str, checks: dict[str, Any], values: dict[str, Any]
    ) -> dict[str, Any]:
        clean = checked(values, checks)
        portal = self.store.portals[domain]
        with self.store.lock:
            getattr(portal, name).update(clean)
            if clean.get("seed") is not None:
                reseed(portal, "api" if name == "faults" else name, clean["seed"])
            return dict(getattr(portal, name))

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

    def act_convert(
        self, domain: str, lead_id: int, user_id: int = 1
    ) -> dict[str, Any] | None:
        """A user converts a lead into a contact; the new contact, or None for
        no such lead. ASSUMED (no source shows a conversion): the contact takes
        the lead's person fields, and the lead is updated to `converted: true`
        with the contact listed under `contacts`; both fire their events."""
        portal = self.store.portals[domain]
        with self.store.lock:
            lead = self.store.get(portal, "leads", lead_id)
            if lead is None:
                return None
            person = (
                "first_name", "last_name", "patronymic", "position",
                "phone", "email", "messengers",
            )  # fmt: skip
            contact = self.store.create(
                portal, "contacts", {k: lead[k] for k in person if k in lead}, user_id
            )
            linked = {"id": contact["id"], "title": contact.get("title", "")}
            self.store.update(
                portal,
                "leads",
                lead_id,
                {"converted": True, "contacts": [*lead.get("contacts", []), linked]},
                user_id,
            )
            return contact

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

    def failed(self, domain: str) -> int:
        """Calls the portal's fault knobs answered with a failure so far."""
        with self.store.lock:
            return self.store.portals[domain].failed

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST attempt so far."""
        return list(self.webhooks.deliveries)

    def seed(
        self, domain: str, leads: int = 120, deals: int = 60, seed: int = 7
    ) -> dict[str, int]:
        """Fill a portal with realistic leads, contacts and deals."""
        from app.sandbox.seed import seed_uspacy

        return seed_uspacy(self, domain, leads, deals, seed)
