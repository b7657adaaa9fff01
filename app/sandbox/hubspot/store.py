"""In-memory, thread-safe HubSpot portals ("accounts") and their CRM records.

Every change goes through `HubSpotStore`, which validates values the way HubSpot
does, keeps derived properties (last-modified dates, deal outcome, association
counts, the primary company) right, logs what integrations wrote, and tells
listeners (the webhook dispatcher) what changed and who changed it.

Each request touches only the records it names: emails, list order and search
have their own indexes, so a portal of tens of thousands of records answers as
fast as a small one.
"""

import threading
from bisect import insort
from collections.abc import Callable
from typing import Any

from app.sandbox.clock import Clock
from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.checks import ValidationMixin
from app.sandbox.hubspot.deal_stages import deal_outcome
from app.sandbox.hubspot.ids import check_hub_id
from app.sandbox.hubspot.knobs import DEFAULT_SEARCH_INDEX_DELAY
from app.sandbox.hubspot.links import LinksMixin
from app.sandbox.hubspot.model import (
    CALCULATED,
    CRM_UI,
    INTEGRATION,
    Account,
    Change,
    Conflict,
    NotFound,
    Record,
    ValidationFailed,
    new_account,
    source_id,
)
from app.sandbox.hubspot.values import iso

__all__ = [
    "CRM_UI",
    "INTEGRATION",
    "Account",
    "Change",
    "Conflict",
    "HubSpotStore",
    "NotFound",
    "Record",
    "ValidationFailed",
]

# Writing it associates the contact with its primary company (`links.py`).
COMPANY_ID = "associatedcompanyid"
# Writes remembered per record for `propertiesWithHistory`; older ones are
# folded into the next (their values stay, their own timestamps go).
MAX_HISTORY = 200


class HubSpotStore(LinksMixin, ValidationMixin):
    """All accounts of one emulated HubSpot, guarded by one re-entrant lock."""

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        search_index_delay: float = DEFAULT_SEARCH_INDEX_DELAY,
        app_id: int = 0,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.search_index_delay = search_index_delay
        self.app_id = app_id
        self.lock = threading.RLock()
        self.accounts: dict[int, Account] = {}
        self.listeners: list[Callable[[Account, list[Change]], None]] = []

    def create_account(
        self, hub_id: int, user: str | None = None, user_id: int | None = None
    ) -> Account:
        """Create a portal with HubSpot's default properties and pipeline."""
        hub_id = check_hub_id(hub_id)
        with self.lock:
            if hub_id in self.accounts:
                return self.accounts[hub_id]
            now = iso(self.clock.now())
            account = new_account(
                hub_id, user, user_id, now, self.seed, self.search_index_delay
            )
            self.accounts[hub_id] = account
            return account

    def account(self, hub_id: int) -> Account:
        """The account for `hub_id` (KeyError if unknown)."""
        return self.accounts[int(hub_id)]

    def flush_index(self, account: Account) -> None:
        """Let search catch up with every write of the account now."""
        with self.lock:
            for index in account.search.values():
                index.flush()

    def source_id(self, account: Account, source: str) -> str | None:
        """HubSpot's `sourceId` for a change by `source` (see `model.source_id`)."""
        return source_id(source, account.user_id, self.app_id)

    # -- records --

    def get(self, account: Account, otype: str, object_id: str) -> Record:
        """A live record, or NotFound."""
        record = account.objects[otype].get(str(object_id))
        if record is None or record.archived:
            raise NotFound(object_id)
        return record

    def create(
        self,
        account: Account,
        otype: str,
        values: dict[str, Any],
        source: str = INTEGRATION,
        trusted: bool = False,
    ) -> Record:
        """Create a record; contacts' emails must be unique (409 otherwise)."""
        with self.lock:
            clean = self.validate(account, otype, values, trusted)
            email = clean.get("email") if otype == "contacts" else None
            if email:
                existing = self.find_by_email(account, email)
                if existing is not None:
                    raise Conflict(
                        f"Contact already exists. Existing ID: {existing.id}"
                    )
            now = self.clock.now()
            record_id = account.ids[otype].allocate()
            created = clean.pop("createdate", None) or iso(now)
            record = Record(record_id, {}, now, now)
            base = {"hs_object_id": record_id, "createdate": created}
            for (own, _), count in defaults.ASSOCIATION_COUNTS.items():
                if own == otype:
                    base[count] = "0"
            company = clean.pop(COMPANY_ID, None) if otype == "contacts" else None
            changes = self._apply(account, otype, record, {**base, **clean}, source)
            account.objects[otype][record_id] = record
            order = account.order[otype]
            if order and order[-1] > int(record_id):
                insort(order, int(record_id))
            else:
                order.append(int(record_id))
            if email:
                account.emails[email.lower()] = record_id
            self._log_write(account, "create", otype, record_id, values, source)
            head = {
                "kind": "creation",
                "objectType": otype,
                "objectId": record_id,
                "source": source,
                "occurredAt": int(now * 1000),
            }
            self._emit(account, [head, *changes])
            if company:
                self.set_primary_company(account, record_id, company, source)
            return record

    def update(
        self,
        account: Account,
        otype: str,
        object_id: str,
        values: dict[str, Any],
        source: str = INTEGRATION,
        trusted: bool = False,
    ) -> Record:
        """Overwrite the given properties; "" clears one."""
        with self.lock:
            record = self.get(account, otype, object_id)
            clean = self.validate(account, otype, values, trusted)
            new_email = clean.get("email") if otype == "contacts" else None
            if new_email:
                other = self.find_by_email(account, new_email)
                if other is not None and other.id != record.id:
                    raise Conflict(f"Contact already exists. Existing ID: {other.id}")
            old_email = record.properties.get("email") or ""
            company = clean.pop(COMPANY_ID, None) if otype == "contacts" else None
            changes = self._apply(account, otype, record, clean, source)
            if otype == "contacts" and "email" in clean:
                account.emails.pop(old_email.lower(), None)
                if new_email:
                    account.emails[new_email.lower()] = record.id
            self._log_write(account, "update", otype, record.id, values, source)
            self._emit(account, changes)
            if company is not None:
                self.set_primary_company(account, record.id, company, source)
            return record

    def _apply(
        self,
        account: Account,
        otype: str,
        record: Record,
        values: dict[str, str],
        source: str,
    ) -> list[Change]:
        """Set values plus derived properties; return one change per real change."""
        now = self.clock.now()
        calculated = (
            deal_outcome(account, record, values, now) if otype == "deals" else {}
        )
        values[defaults.LAST_MODIFIED[otype]] = iso(now)
        changes: list[Change] = []
        self._set(account, otype, record, values, source, now, changes)
        if calculated:
            self._set(account, otype, record, calculated, CALCULATED, now, changes)
        record.updated_at = now
        delay = account.knobs["search_index_delay"]
        account.search[otype].note(record, now + delay)
        return changes

    def _set(
        self,
        account: Account,
        otype: str,
        record: Record,
        values: dict[str, str],
        source: str,
        now: float,
        changes: list[Change],
    ) -> None:
        old = record.properties
        diff = {k: v for k, v in values.items() if k not in old or old[k] != v}
        if not diff:
            return
        record.properties = {**old, **diff}
        history = record.history
        history.append((now, source, self.source_id(account, source) or "", diff))
        if len(history) > MAX_HISTORY:
            oldest, nxt = history[0], history[1]
            history[1] = (nxt[0], nxt[1], nxt[2], {**oldest[3], **nxt[3]})
            del history[0]
        occurred = int(now * 1000)
        for name, value in diff.items():
            changes.append(
                {
                    "kind": "propertyChange",
                    "objectType": otype,
                    "objectId": record.id,
                    "propertyName": name,
                    "propertyValue": value,
                    "source": source,
                    "occurredAt": occurred,
                }
            )

    def archive(
        self,
        account: Account,
        otype: str,
        object_id: str,
        source: str,
        kind: str = "deletion",
    ) -> None:
        """Move a record to the recycle bin and drop its associations."""
        with self.lock:
            record = self.get(account, otype, object_id)
            self.unlink_all(account, otype, record.id, source)
            record.archived, record.archived_at = True, self.clock.now()
            delay = account.knobs["search_index_delay"]
            account.search[otype].note(record, record.archived_at + delay)
            if otype == "contacts":
                email = (record.properties.get("email") or "").lower()
                if account.emails.get(email) == record.id:
                    del account.emails[email]
            self._log_write(account, "archive", otype, record.id, {}, source)
            event = {
                "kind": kind,
                "objectType": otype,
                "objectId": record.id,
                "source": source,
                "occurredAt": int(self.clock.now() * 1000),
            }
            self._emit(account, [event])

    def _log_write(
        self,
        account: Account,
        action: str,
        otype: str,
        object_id: str,
        values: dict[str, Any],
        source: str,
    ) -> None:
        if source == INTEGRATION:
            account.writes.append(
                {
                    "at": iso(self.clock.now()),
                    "action": action,
                    "objectType": otype,
                    "objectId": object_id,
                    "properties": dict(values),
                }
            )

    def _emit(self, account: Account, changes: list[Change]) -> None:
        if changes:
            occurred = int(self.clock.now() * 1000)
            for change in changes:
                change.setdefault("occurredAt", occurred)
            for listener in self.listeners:
                listener(account, changes)
