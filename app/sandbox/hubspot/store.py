"""In-memory, thread-safe HubSpot portals ("accounts") and their CRM records.

Every change goes through `HubSpotStore`, which validates values the way HubSpot
does, keeps derived properties (last-modified dates, deal outcome, association
counts) right, logs what integrations wrote, and tells listeners (the webhook
dispatcher) what changed and who changed it.
"""

import threading
from collections.abc import Callable
from typing import Any

from app.sandbox.clock import Clock
from app.sandbox.hubspot import defaults, index
from app.sandbox.hubspot.checks import ValidationMixin
from app.sandbox.hubspot.ids import check_hub_id
from app.sandbox.hubspot.knobs import DEFAULT_SEARCH_INDEX_DELAY
from app.sandbox.hubspot.links import LinksMixin
from app.sandbox.hubspot.model import (
    CRM_UI,
    INTEGRATION,
    Account,
    Change,
    Conflict,
    NotFound,
    Record,
    ValidationFailed,
    new_account,
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


class HubSpotStore(LinksMixin, ValidationMixin):
    """All accounts of one emulated HubSpot, guarded by one re-entrant lock."""

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        search_index_delay: float = DEFAULT_SEARCH_INDEX_DELAY,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.search_index_delay = search_index_delay
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
            index.flush(account, self.clock.now())

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
            email = clean.get("email")
            if otype == "contacts" and email:
                existing = self.find_by_email(account, email)
                if existing is not None:
                    raise Conflict(
                        f"Contact already exists. Existing ID: {existing.id}"
                    )
            now = self.clock.now()
            record_id = account.ids[otype].allocate()
            created = clean.pop("createdate", None) or iso(now)
            record = Record(id=record_id, properties={}, created_at=now, updated_at=now)
            base = {"hs_object_id": record_id, "createdate": created}
            if otype == "deals":
                base.update({"num_associated_contacts": "0"})
                if clean.get("dealstage") and not clean.get("pipeline"):
                    clean["pipeline"] = account.pipeline_of_stage(clean["dealstage"])[
                        0
                    ]["id"]
            else:
                base.update({"num_associated_deals": "0"})
            changes = self._apply(account, otype, record, {**base, **clean}, source)
            account.objects[otype][record_id] = record
            self._log_write(account, "create", otype, record_id, values, source)
            occurred = int(now * 1000)
            head = {
                "kind": "creation",
                "objectType": otype,
                "objectId": record_id,
                "source": source,
                "occurredAt": occurred,
            }
            self._emit(account, [head, *changes])
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
            if otype == "contacts" and clean.get("email"):
                other = self.find_by_email(account, clean["email"])
                if other is not None and other.id != record.id:
                    raise Conflict(f"Contact already exists. Existing ID: {other.id}")
            changes = self._apply(account, otype, record, clean, source)
            self._log_write(account, "update", otype, record.id, values, source)
            self._emit(account, changes)
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
        if otype == "deals" and "dealstage" in values:
            found = account.pipeline_of_stage(values["dealstage"])
            if found:
                metadata = found[1]["metadata"]
                won = (
                    metadata["isClosed"] == "true"
                    and float(metadata["probability"]) == 1
                )
                values.setdefault("pipeline", found[0]["id"])
                values["hs_is_closed"] = metadata["isClosed"]
                values["hs_is_closed_won"] = "true" if won else "false"
                values["hs_deal_stage_probability"] = metadata["probability"]
        values[defaults.LAST_MODIFIED[otype]] = iso(now)
        changes = []
        for name, value in values.items():
            if record.properties.get(name, "") == value and name in record.properties:
                continue
            record.properties[name] = value
            record.history.setdefault(name, []).insert(
                0,
                {
                    "value": value,
                    "timestamp": iso(now),
                    "sourceType": source,
                    "sourceId": ""
                    if source == INTEGRATION
                    else f"userId:{account.user_id}",
                },
            )
            changes.append(
                {
                    "kind": "propertyChange",
                    "objectType": otype,
                    "objectId": record.id,
                    "propertyName": name,
                    "propertyValue": value,
                    "source": source,
                    "occurredAt": int(now * 1000),
                }
            )
        record.updated_at = now
        index.note_write(record, now, account.knobs["search_index_delay"])
        return changes

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
            record.archived, record.archived_at = True, self.clock.now()
            index.note_write(
                record, record.archived_at, account.knobs["search_index_delay"]
            )
            for deal_id, contact_id in list(account.associations):
                if record.id == (deal_id if otype == "deals" else contact_id):
                    self.disassociate(account, deal_id, contact_id, source)
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
            for listener in self.listeners:
                listener(account, changes)
