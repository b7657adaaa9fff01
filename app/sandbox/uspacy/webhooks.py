"""Outgoing Uspacy webhooks (as Uspacy documents them; shapes it leaves open
are assumed): the confirmation handshake, then event envelopes for
create/update/delete/updateStage, retried after 1 s, 5 s and 30 s on a non-2xx
answer or a timeout over 10 s. There is no signature header."""

import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import requests

from app.sandbox.clock import Clock
from app.sandbox.delivery import post_recorded
from app.sandbox.uspacy.store import Portal

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0)


class UspacyWebhooks:
    """Confirmation and delivery for all portals' webhooks."""

    def __init__(
        self,
        clock: Clock,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 10.0,
    ) -> None:
        self.clock, self.retry_delays, self.timeout = clock, retry_delays, timeout
        self.base_url = ""
        self.deliveries: list[dict[str, Any]] = []
        self.last_event: dict[int, dict[str, Any]] = {}
        self._lock = threading.Condition()
        self._busy = 0
        self._stop = threading.Event()
        self._session = requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="uspacy-hook")

    def start_confirmation(self, webhook: dict[str, Any]) -> None:
        """POST the validation link; the webhook works once it is fetched."""
        webhook["_confirm_token"] = secrets.token_urlsafe(16)
        link = (
            f"{self.base_url}/company/v1/webhooks/{webhook['id']}/confirm"
            f"?token={webhook['_confirm_token']}"
        )
        body = {
            "type": "confirmation",
            "webhook_id": webhook["id"],
            "validation_link": link,
        }
        self._submit(webhook["url"], body, retries=False)

    def on_change(
        self,
        portal: Portal,
        action: str,
        kind: str,
        entity: dict,
        old: dict | None,
        user_id: int,
    ) -> None:
        """Store listener: send the event to every confirmed, active match."""
        now = self.clock.now()
        envelope = {
            "id": str(uuid.uuid4()),
            "type": "entity_crm",
            "env": "sandbox",
            "createdAt": int(now * 1000),
            "data": {
                "service": "crm",
                "action": action,
                "timestamp": datetime.fromtimestamp(now, tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%SZ"
                ),
                "user_id": user_id,
                "entity": entity,
                "old_entity": old or {},
                "root_parent": {},
            },
        }
        for webhook in list(portal.webhooks.values()):
            if (
                webhook["active"]
                and webhook["confirmed"]
                and _wants(webhook, kind, action)
            ):
                self.last_event[webhook["id"]] = envelope
                self._submit(webhook["url"], envelope, retries=True)

    def repeat(self, webhook: dict[str, Any]) -> bool:
        """Re-send the last event of a webhook (`PATCH …/repeat`)."""
        envelope = self.last_event.get(webhook["id"])
        if envelope is None:
            return False
        self._submit(webhook["url"], envelope, retries=True)
        return True

    def _submit(self, url: str, body: dict[str, Any], retries: bool) -> None:
        with self._lock:
            self._busy += 1
        try:
            self._pool.submit(self._deliver, url, body, retries)
        except RuntimeError:
            self._done()

    def _deliver(self, url: str, body: dict[str, Any], retries: bool) -> None:
        try:
            delays = (0.0, *self.retry_delays) if retries else (0.0,)
            for attempt, delay in enumerate(delays):
                if self._stop.wait(delay):
                    return
                record: dict[str, Any] = {"url": url, "attempt": attempt, "body": body}
                ok = post_recorded(
                    self._session, url, record, json=body, timeout=self.timeout
                )
                with self._lock:
                    self.deliveries.append(record)
                if ok:
                    return
        finally:
            self._done()

    def _done(self) -> None:
        with self._lock:
            self._busy -= 1
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery (or retry) is pending."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
        return True

    def close(self) -> None:
        """Abandon retries and close connections."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()


def _wants(webhook: dict[str, Any], kind: str, action: str) -> bool:
    for event in webhook.get("events") or []:
        table = event.get("table_name")
        if (
            event.get("service", "crm") == "crm"
            and (table in (None, kind))
            and (action in (event.get("actions") or []))
        ):
            return True
    return False
