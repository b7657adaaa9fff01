"""`HubSpotSandbox`: the emulated HubSpot as one object — start it, create accounts,
mint tokens, seed data, play a user, set knobs and faults, and inspect what the
app did. The same operations are served over HTTP under `/_control/` (see
`control.py`)."""

import random
import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from app.sandbox.clock import Clock, SystemClock
from app.sandbox.hubspot import api, defaults, model
from app.sandbox.hubspot.actors import UserActions
from app.sandbox.hubspot.appconfig import AppConfig
from app.sandbox.hubspot.knobs import DEFAULT_SEARCH_INDEX_DELAY
from app.sandbox.hubspot.portal_controls import PortalControls
from app.sandbox.hubspot.ratelimit import (
    SEARCH_LIMIT,
    SEARCH_WINDOW,
    TEN_SECONDLY_LIMIT,
    TEN_SECONDLY_WINDOW,
    RollingWindow,
)
from app.sandbox.hubspot.records import render
from app.sandbox.hubspot.store import HubSpotStore
from app.sandbox.hubspot.tokens import TokenBook
from app.sandbox.hubspot.webhooks import DEFAULT_RETRY_DELAYS, Webhooks
from app.sandbox.server import ServedEmulation

FAULT_KEYS = ("error_rate", "latency", "force_429", "timeouts", "timeout_seconds")


class HubSpotSandbox(PortalControls, ServedEmulation):
    """An emulated HubSpot with one registered public app.

    `search_index_delay` is every new account's default search lag in seconds
    on `clock` (per account: `knobs(hub_id, search_index_delay=...)`).
    """

    name = "HubSpot"

    def __init__(
        self,
        app_config: AppConfig | None = None,
        clock: Clock | None = None,
        seed: int = 0,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        webhook_timeout: float = 5.0,
        search_index_delay: float = DEFAULT_SEARCH_INDEX_DELAY,
    ) -> None:
        self.app_config = app_config or AppConfig()
        self.clock = clock or SystemClock()
        self.random = random.Random(seed)
        self.stopping = threading.Event()
        self.store = HubSpotStore(
            self.clock, seed, search_index_delay, self.app_config.app_id
        )
        self.tokens = TokenBook(self.clock)
        self.limiter = RollingWindow(
            TEN_SECONDLY_LIMIT, TEN_SECONDLY_WINDOW, self.clock
        )
        self.search_limiter = RollingWindow(SEARCH_LIMIT, SEARCH_WINDOW, self.clock)
        self.webhooks = Webhooks(
            self.app_config.client_secret,
            self.app_config.app_id,
            self.clock,
            random.Random(seed + 1),
            retry_delays,
            webhook_timeout,
        )
        self.store.listeners.append(self.webhooks.on_change)
        self.act = UserActions(self)
        self.flask_app = api.create_app(self)

    # -- faults and inspection --

    def faults(self, hub_id: int, **knobs: Any) -> dict[str, Any]:
        """Set `error_rate` (0–1, 502s), `latency` (s), `force_429` (next N calls),
        `timeouts` (next N calls hang `timeout_seconds`, default 30, then 504)."""
        unknown = set(knobs) - set(FAULT_KEYS)
        if unknown:
            raise ValueError(f"unknown fault knobs: {sorted(unknown)}")
        account = self.store.account(hub_id)
        with self.store.lock:
            account.faults.update(knobs)
            return dict(account.faults)

    def calls(self, hub_id: int) -> dict[str, int]:
        """API calls the app made, per `METHOD /path/template`."""
        with self.store.lock:
            return dict(self.store.account(hub_id).calls)

    def writes(self, hub_id: int) -> list[dict[str, Any]]:
        """Creates, updates and archives the app made, oldest first."""
        with self.store.lock:
            return list(self.store.account(hub_id).writes)

    def get_object(
        self, hub_id: int, object_type: str, object_id: str
    ) -> dict[str, Any]:
        """A record with all its properties, as the API would render it."""
        with self.store.lock:
            account = self.store.account(hub_id)
            record = account.objects[object_type][str(object_id)]
            return render(
                self.store,
                account,
                object_type,
                record,
                sorted(record.properties),
                associations=list(defaults.OBJECT_TYPES),
            )

    def get_property(self, hub_id: int, object_type: str, name: str) -> dict | None:
        """A property definition, or None."""
        with self.store.lock:
            found = self.store.account(hub_id).properties[object_type].get(name)
            return dict(found) if found else None

    def add_pipeline(
        self,
        hub_id: int,
        pipeline_id: str,
        label: str,
        stages: list[tuple[str, str, str, bool]],
    ) -> dict[str, Any]:
        """Add a deal pipeline; stages are (id, label, probability, is_closed)."""
        from app.sandbox.hubspot.values import iso

        now = iso(self.clock.now())
        account = self.store.account(hub_id)
        pipeline = model.pipeline(
            pipeline_id, label, len(account.pipelines["deals"]), stages, now
        )
        with self.store.lock:
            account.pipelines["deals"].append(pipeline)
        return pipeline

    # -- webhooks --

    def configure_webhooks(
        self, target_url: str, subscriptions: list[dict[str, Any]], **options: Any
    ) -> list[dict[str, Any]]:
        """Set the app's target URL and subscriptions (`subscriptionType`,
        `propertyName`, `objectTypeId`/`objectType`, `active`); options:
        `max_concurrent`, `duplicates` (0–1), `out_of_order` (bool)."""
        return self.webhooks.configure(target_url, subscriptions, **options)

    @property
    def subscriptions(self) -> list[dict[str, Any]]:
        """The app's current webhook subscriptions."""
        return [dict(s) for s in self.webhooks.settings.subscriptions]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook POST attempt so far (url, attempt, status, body, headers)."""
        return list(self.webhooks.deliveries)

    def seed(
        self,
        hub_id: int,
        contacts: int = 200,
        deals: int = 80,
        seed: int = 7,
        companies: int | None = None,
    ) -> dict[str, int]:
        """Fill an account with realistic contacts, companies, deals and pipelines
        (companies default to one per eight contacts)."""
        from app.sandbox.seed import seed_hubspot

        return seed_hubspot(self, hub_id, contacts, deals, seed, companies)

    def approve(
        self, authorize_url: str, hub_id: int, user: str, decision: str = "allow"
    ) -> str:
        """Act as the user on the consent page an app sent them to, over HTTP:
        open it, pick the portal and connect (or cancel); the URL HubSpot
        redirects back to, with the code or the error and the state."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        with requests.Session() as browser:
            page = browser.get(authorize_url, timeout=30)
            if page.status_code != 200:
                raise RuntimeError(f"consent page: {page.status_code} {page.text}")
            answer = browser.post(
                f"{self.base_url}/oauth/authorize",
                data={
                    **params,
                    "hub_id": str(hub_id),
                    "user": user,
                    "decision": decision,
                },
                allow_redirects=False,
                timeout=30,
            )
        if answer.status_code != 302:
            raise RuntimeError(f"consent: {answer.status_code} {answer.text}")
        return answer.headers["Location"]
