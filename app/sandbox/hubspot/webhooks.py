"""Webhook subscriptions of the app and their delivery (HubSpot's API documentation).

Every CRM change the store reports becomes one event per matching subscription.
Events of one portal are POSTed to the target URL as JSON arrays of fewer than 100,
signed (v1 and v3) per attempt, with a 5 s timeout, up to 10 attempts with
`attemptNumber` counting retries after a non-2xx answer or a failure, at most
`max_concurrent` requests in flight, and duplicates or shuffled order on request.
"""

import heapq
import itertools
import json
import random
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import requests

from app.sandbox.clock import Clock
from app.sandbox.delivery import post_recorded
from app.sandbox.hubspot import signing
from app.sandbox.hubspot.events import (
    SubscriptionIndex,
    build_events,
    check_subscription,
    index_subscriptions,
    type_id_of,
)
from app.sandbox.hubspot.store import Account, Change

BATCH_LIMIT = 99
MAX_ATTEMPTS = 10
MAX_SUBSCRIPTIONS = 1000
# Delivery attempts kept for inspection, newest last.
MAX_DELIVERY_LOG = 10_000
DEFAULT_RETRY_DELAYS = (
    60.0,
    120.0,
    300.0,
    900.0,
    1800.0,
    3600.0,
    7200.0,
    14400.0,
    28800.0,
)


@dataclass
class Settings:
    """What the app configured on its Webhooks tab (or in `webhooks-hsmeta.json`)."""

    target_url: str | None = None
    max_concurrent: int = 10
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    duplicates: float = 0.0
    out_of_order: bool = False
    index: SubscriptionIndex = field(default_factory=dict)


class Webhooks:
    """Subscriptions plus a background dispatcher."""

    def __init__(
        self,
        secret: str,
        app_id: int,
        clock: Clock,
        rng: random.Random,
        retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 5.0,
        batch_window: float = 0.05,
    ) -> None:
        self.secret, self.app_id, self.clock, self.rng = secret, app_id, clock, rng
        self.retry_delays, self.timeout, self.batch_window = (
            retry_delays,
            timeout,
            batch_window,
        )
        self.settings = Settings()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_DELIVERY_LOG)
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._pending: dict[int, list[dict[str, Any]]] = {}
        self._retries: list[tuple[float, int, int, list[dict[str, Any]], int]] = []
        self._in_flight = 0
        self._limiters: dict[tuple[int, int], threading.Semaphore] = {}
        self._closed = False
        self._session = requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=10, thread_name_prefix="hs-webhook")
        self._thread = threading.Thread(
            target=self._run, name="hs-webhooks", daemon=True
        )
        self._thread.start()

    def configure(
        self,
        target_url: str | None = None,
        subscriptions: list[dict[str, Any]] | None = None,
        max_concurrent: int = 10,
        duplicates: float = 0.0,
        out_of_order: bool = False,
    ) -> list[dict[str, Any]]:
        """Replace the app's webhook settings; return subscriptions with their ids.
        ValueError for a subscription HubSpot refuses (unknown type, propertyChange
        without a property or on one that cannot be subscribed to, over 1,000)."""
        if len(subscriptions or []) > MAX_SUBSCRIPTIONS:
            raise ValueError(f"an app has at most {MAX_SUBSCRIPTIONS} subscriptions")
        subs = []
        for raw in subscriptions or []:
            if not isinstance(raw, dict):
                raise ValueError("each subscription must be an object")
            kind = raw.get("subscriptionType") or raw.get("eventType")
            check_subscription({**raw, "subscriptionType": kind})
            sub = {
                "id": next(self._ids) + 1000,
                "subscriptionType": kind,
                "propertyName": raw.get("propertyName"),
                "objectTypeId": raw.get("objectTypeId")
                or type_id_of(raw.get("objectType") or raw.get("objectName")),
                "active": raw.get("active", True),
            }
            subs.append(sub)
        with self._cond:
            self.settings = Settings(
                target_url,
                max(1, min(int(max_concurrent), 10)),
                subs,
                float(duplicates),
                bool(out_of_order),
                index_subscriptions(subs),
            )
        return [dict(s) for s in subs]

    def on_change(self, account: Account, changes: list[Change]) -> None:
        """Store listener: turn changes into events for matching subscriptions."""
        settings = self.settings
        if not settings.target_url or not account.installed:
            return
        index = settings.index
        if not index:
            return
        events = []
        for change in changes:
            kind = change["kind"]
            name = change.get("propertyName") if kind == "propertyChange" else None
            # Most changes of a burst match nothing: one lookup settles them.
            if kind == "privacyDeletion" or (change["objectType"], kind, name) in index:
                events += build_events(account, change, index, self.rng, self.app_id)
        if events:
            with self._cond:
                self._pending.setdefault(account.hub_id, []).extend(events)
                self._cond.notify_all()

    # -- delivery --

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._pending and not self._due():
                    wait = (
                        (self._retries[0][0] - time.monotonic())
                        if self._retries
                        else None
                    )
                    self._cond.wait(timeout=wait)
                if self._closed:
                    return
            time.sleep(self.batch_window)
            for hub_id, events, attempt in self._take():
                self._submit(hub_id, events, attempt)

    def _due(self) -> bool:
        return bool(self._retries) and self._retries[0][0] <= time.monotonic()

    def _take(self) -> list[tuple[int, list[dict[str, Any]], int]]:
        jobs = []
        with self._cond:
            while self._due():
                _, _, hub_id, events, attempt = heapq.heappop(self._retries)
                jobs.append((hub_id, events, attempt))
            for hub_id, events in self._pending.items():
                if self.settings.out_of_order:
                    self.rng.shuffle(events)
                size = (
                    max(1, self.rng.randint(1, 3))
                    if self.settings.out_of_order
                    else BATCH_LIMIT
                )
                jobs += [
                    (hub_id, events[i : i + size], 0)
                    for i in range(0, len(events), size)
                ]
            self._pending = {}
            self._in_flight += len(jobs)
        if self.settings.out_of_order:
            self.rng.shuffle(jobs)
        return jobs

    def _submit(self, hub_id: int, events: list[dict[str, Any]], attempt: int) -> None:
        try:
            self._pool.submit(self._deliver, hub_id, events, attempt)
        except RuntimeError:
            with self._cond:
                self._in_flight -= 1

    def _deliver(self, hub_id: int, events: list[dict[str, Any]], attempt: int) -> None:
        settings = self.settings
        with self._cond:
            limit = self._limiters.setdefault(
                (hub_id, settings.max_concurrent),
                threading.Semaphore(settings.max_concurrent),
            )
        with limit:
            copies = 2 if self.rng.random() < settings.duplicates else 1
            ok = all(
                self._post(settings.target_url, events, attempt) for _ in range(copies)
            )
        with self._cond:
            if not ok and attempt + 1 < MAX_ATTEMPTS and not self._closed:
                delay = self.retry_delays[min(attempt, len(self.retry_delays) - 1)]
                heapq.heappush(
                    self._retries,
                    (
                        time.monotonic() + delay,
                        next(self._seq),
                        hub_id,
                        events,
                        attempt + 1,
                    ),
                )
            self._in_flight -= 1
            self._cond.notify_all()

    def _post(
        self, url: str | None, events: list[dict[str, Any]], attempt: int
    ) -> bool:
        if not url:
            return True
        body = json.dumps(
            [{**e, "attemptNumber": attempt} for e in events], separators=(",", ":")
        )
        sent = signing.headers(self.secret, url, body, int(self.clock.now() * 1000))
        record: dict[str, Any] = {
            "url": url,
            "attempt": attempt,
            "body": body,
            "headers": sent,
            "events": len(events),
        }
        ok = post_recorded(
            self._session,
            url,
            record,
            data=body.encode(),
            headers=sent,
            timeout=self.timeout,
            allow_redirects=False,
        )
        with self._cond:
            self.deliveries.append(record)
        return ok

    def wait_idle(self, timeout: float = 5.0, include_retries: bool = True) -> bool:
        """Block until nothing is pending or in flight (and, optionally, no retry)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while (
                self._pending or self._in_flight or (include_retries and self._retries)
            ):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(timeout=min(left, 0.05))
        return True

    def close(self) -> None:
        """Stop the dispatcher, drop queued retries and close connections."""
        with self._cond:
            self._closed = True
            self._retries.clear()
            self._cond.notify_all()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._session.close()
