"""Outgoing Uspacy webhooks (as Uspacy documents them; shapes it leaves open
are assumed): the confirmation handshake, then one event per change for
create/update/delete/updateStage, in the portal's envelope (`envelopes.py`).

Each portal's first attempts go out one at a time in the order of the changes;
a failed one (non-2xx, or no answer within 10 s) is retried after 1 s, 5 s and
30 s on its own, so later events can overtake it, as with any retrying sender.
There is no signature header. On the portal's delivery knobs an event is sent
twice (`duplicate_rate`) or held back until after the portal's next event, or at
most `HOLD_SECONDS` (`reorder_rate`); draws come from the portal's seeded stream.
"""

import secrets
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests

from app.sandbox.clock import Clock
from app.sandbox.delivery import post_recorded
from app.sandbox.uspacy import envelopes
from app.sandbox.uspacy.hosts import portal_base_url
from app.sandbox.uspacy.store import Portal

DEFAULT_RETRY_DELAYS = (1.0, 5.0, 30.0)
HOLD_SECONDS = 0.5
MAX_DELIVERY_LOG = 10_000


@dataclass
class Job:
    """One body to POST to one URL."""

    domain: str
    url: str
    body: dict[str, Any]
    envelope: str
    retries: bool


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
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=MAX_DELIVERY_LOG)
        self.last_event: dict[int, Job] = {}
        self._lock = threading.Condition()
        self._busy = 0
        self._queues: dict[str, deque[Job]] = defaultdict(deque)
        self._draining: set[str] = set()
        self._held: dict[str, Job] = {}
        self._stop = threading.Event()
        self._session = requests.Session()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="uspacy-hook")

    def start_confirmation(self, portal: Portal, webhook: dict[str, Any]) -> None:
        """Send the validation link; the webhook works once it is fetched."""
        webhook["_confirm_token"] = secrets.token_urlsafe(16)
        link = (
            f"{portal_base_url(self.base_url, portal.domain)}/company/v1/webhooks/"
            f"{webhook['id']}/confirm?token={webhook['_confirm_token']}"
        )
        envelope = portal.delivery["envelope"]
        body = (
            envelopes.sns_confirmation(webhook["id"], link, self.clock.now())
            if envelope == "sns"
            else envelopes.confirmation(webhook["id"], link)
        )
        self._send(Job(portal.domain, webhook["url"], body, envelope, retries=False))

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
        event = envelopes.event(now, action, entity, old, user_id)
        settings = portal.delivery
        for webhook in list(portal.webhooks.values()):
            if not (
                webhook["active"]
                and webhook["confirmed"]
                and _wants(webhook, kind, action)
            ):
                continue
            body = (
                envelopes.sns_notification(webhook["id"], event, now)
                if settings["envelope"] == "sns"
                else event
            )
            job = Job(portal.domain, webhook["url"], body, settings["envelope"], True)
            self.last_event[webhook["id"]] = job
            twice = portal.delivery_random.random() < settings["duplicate_rate"]
            late = portal.delivery_random.random() < settings["reorder_rate"]
            self._send(job, hold=late)
            if twice:
                self._send(job)

    def repeat(self, webhook: dict[str, Any]) -> bool:
        """Re-send the last event of a webhook (`PATCH …/repeat`)."""
        job = self.last_event.get(webhook["id"])
        if job is None:
            return False
        self._send(job)
        return True

    def _send(self, job: Job, hold: bool = False) -> None:
        """Queue a first attempt behind the portal's earlier ones; a held job
        waits for the portal's next one (or `HOLD_SECONDS`)."""
        with self._lock:
            self._busy += 1
            earlier = self._held.pop(job.domain, None)
            if hold and earlier is None:
                self._held[job.domain] = job
                timer = threading.Timer(HOLD_SECONDS, self._release, (job,))
                timer.daemon = True
                timer.start()
                return
            self._queues[job.domain].append(job)
            if earlier is not None:
                self._queues[job.domain].append(earlier)
            if job.domain not in self._draining:
                self._draining.add(job.domain)
                self._submit(self._drain, job.domain)

    def _release(self, job: Job) -> None:
        with self._lock:
            if self._held.get(job.domain) is not job:
                return
            del self._held[job.domain]
            self._queues[job.domain].append(job)
            if job.domain not in self._draining:
                self._draining.add(job.domain)
                self._submit(self._drain, job.domain)

    def _submit(self, *task: Any) -> None:
        try:
            self._pool.submit(*task)
        except RuntimeError:  # closed: nothing more will be sent
            self._busy = 0
            self._lock.notify_all()

    def _drain(self, domain: str) -> None:
        while not self._stop.is_set():
            with self._lock:
                queue = self._queues[domain]
                if not queue:
                    self._draining.discard(domain)
                    return
                job = queue.popleft()
            if self._attempt(job, 0) or not job.retries or not self.retry_delays:
                self._done()
            else:
                with self._lock:
                    self._submit(self._retry, job)

    def _retry(self, job: Job) -> None:
        try:
            for attempt, delay in enumerate(self.retry_delays, start=1):
                if self._stop.wait(delay) or self._attempt(job, attempt):
                    return
        finally:
            self._done()

    def _attempt(self, job: Job, attempt: int) -> bool:
        record: dict[str, Any] = {
            "url": job.url,
            "attempt": attempt,
            "body": job.body,
            "domain": job.domain,
            "envelope": job.envelope,
        }
        ok = post_recorded(
            self._session,
            job.url,
            record,
            timeout=self.timeout,
            **envelopes.post_options(job.envelope, job.body),
        )
        with self._lock:
            self.deliveries.append(record)
        return ok

    def _done(self) -> None:
        with self._lock:
            self._busy = max(0, self._busy - 1)
            self._lock.notify_all()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until no delivery (held, queued or retrying) is pending."""
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
