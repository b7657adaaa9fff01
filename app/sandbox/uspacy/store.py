"""In-memory Uspacy portals: records of leads, contacts, deals and companies,
custom fields, funnels with stages, and the portal's outgoing webhooks.

Shapes follow Uspacy's API documentation and its example records.
Every change is reported to listeners as `(portal, action, entity, old_entity,
user_id)` with action ∈ create | update | delete | updateStage.
"""

import copy
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.sandbox.clock import Clock
from app.sandbox.uspacy import catalog
from app.sandbox.uspacy.faults import default_delivery, default_faults

ENTITY_TYPES = ("leads", "contacts", "deals", "companies")
APP_USER_ID = 900
Listener = Callable[["Portal", str, str, dict, dict | None, int], None]


@dataclass
class Portal:
    """One Uspacy portal (`domain` is its full host)."""

    domain: str
    entities: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    fields: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    funnels: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=default_faults)
    delivery: dict[str, Any] = field(default_factory=default_delivery)
    # Separate streams, so webhook knobs never shift which API call fails.
    api_random: random.Random = field(default_factory=random.Random)
    delivery_random: random.Random = field(default_factory=random.Random)
    calls: Counter = field(default_factory=Counter)
    # Answers the fault knobs turned into failures (5xx, 429, hangs), so a test
    # can tell its faults were real without trusting the app's own counts.
    failed: int = 0
    next_id: int = 101

    def stage(self, stage_id: int) -> dict[str, Any] | None:
        """Find a kanban stage by id in any funnel."""
        for funnels in self.funnels.values():
            for funnel in funnels:
                for stage in funnel["stages"]:
                    if stage["id"] == stage_id:
                        return stage
        return None


class UspacyStore:
    """All portals of one emulated Uspacy, guarded by one re-entrant lock."""

    def __init__(self, clock: Clock, seed: int = 0) -> None:
        self.clock = clock
        self.seed = seed
        self.lock = threading.RLock()
        self.portals: dict[str, Portal] = {}
        self.listeners: list[Listener] = []

    def create_portal(self, domain: str) -> Portal:
        """Create (or return) a portal with system fields and default funnels."""
        with self.lock:
            if domain in self.portals:
                return self.portals[domain]
            portal = Portal(domain=domain)
            reseed(portal, "api", self.seed)
            reseed(portal, "delivery", self.seed)
            for kind in ENTITY_TYPES:
                portal.entities[kind] = {}
                portal.fields[kind] = catalog.system_fields(kind)
            portal.funnels = {
                "leads": [catalog.funnel(1, "Leads", "leads", 10)],
                "deals": [catalog.funnel(2, "Sales", "sales", 20)],
            }
            self.portals[domain] = portal
            return portal

    def get(self, portal: Portal, kind: str, record_id: int) -> dict[str, Any] | None:
        """A record, or None."""
        return portal.entities[kind].get(int(record_id))

    def create(
        self,
        portal: Portal,
        kind: str,
        values: dict[str, Any],
        user_id: int,
        emit: bool = True,
    ) -> dict[str, Any]:
        """Create a record with Uspacy's common fields filled in."""
        with self.lock:
            now = int(self.clock.now())
            record_id = portal.next_id
            portal.next_id += 1
            record: dict[str, Any] = {
                "id": record_id,
                "table_name": kind,
                "title": "",
                "owner": user_id,
                "created_at": now,
                "updated_at": now,
                "created_by": user_id,
                "changed_by": user_id,
                "comments": "",
                "source": [],
                "converted": False,
            }
            if kind in ("leads", "contacts"):
                record.update(
                    {
                        "first_name": "",
                        "last_name": "",
                        "patronymic": "",
                        "position": "",
                        "phone": [],
                        "email": [],
                        "messengers": [],
                    }
                )
            if kind in ("leads", "deals"):
                funnel = portal.funnels[kind][0]
                record.update(
                    {
                        "funnel_id": funnel["id"],
                        "kanban_stage_id": funnel["stages"][0]["id"],
                        "kanban_status": "IN_WORK",
                        "kanban_reason_id": None,
                    }
                )
            if kind in ("leads", "deals"):
                record.update({"contacts": [], "companies": []})
            if kind == "deals":
                record["deal_label"] = []
            for code, definition in portal.fields[kind].items():
                if not definition["system_field"]:
                    record.setdefault(code, definition.get("default_value"))
            record.update(_normalise(values))
            portal.entities[kind][record_id] = record
            if emit:
                self._emit(portal, "create", kind, record, None, user_id)
            return copy.deepcopy(record)

    def update(
        self,
        portal: Portal,
        kind: str,
        record_id: int,
        values: dict[str, Any],
        user_id: int,
    ) -> dict[str, Any] | None:
        """Merge keys into a record, bump `updated_at`, set `changed_by`."""
        with self.lock:
            record = self.get(portal, kind, record_id)
            if record is None:
                return None
            old = copy.deepcopy(record)
            protected = {"id", "table_name", "created_at", "created_by"}
            record.update(
                {k: v for k, v in _normalise(values).items() if k not in protected}
            )
            record["updated_at"] = int(self.clock.now())
            record["changed_by"] = user_id
            self._emit(portal, "update", kind, record, old, user_id)
            return copy.deepcopy(record)

    def delete(self, portal: Portal, kind: str, record_id: int, user_id: int) -> bool:
        """Remove a record (to the trash, from the API's point of view)."""
        with self.lock:
            record = portal.entities[kind].pop(int(record_id), None)
            if record is None:
                return False
            self._emit(portal, "delete", kind, record, None, user_id)
            return True

    def move(
        self,
        portal: Portal,
        kind: str,
        record_id: int,
        stage_id: int,
        reason_id: int | None,
        user_id: int,
        emit: bool = True,
    ) -> dict | None:
        """Move to a stage; SUCCESS/FAIL stage codes set `kanban_status`."""
        with self.lock:
            record, stage = (
                self.get(portal, kind, record_id),
                portal.stage(int(stage_id)),
            )
            if record is None or stage is None:
                return None
            old = copy.deepcopy(record)
            code = stage["stage_code"]
            record["funnel_id"] = stage["funnel_id"]
            record["kanban_stage_id"] = stage["id"]
            record["kanban_status"] = code if code in ("SUCCESS", "FAIL") else "IN_WORK"
            record["kanban_reason_id"] = reason_id
            record["updated_at"] = int(self.clock.now())
            record["changed_by"] = user_id
            if emit:
                entity = {
                    **record,
                    "old_kanban_stage_id": old.get("kanban_stage_id"),
                    "new_kanban_stage_id": stage["id"],
                }
                self._emit(portal, "updateStage", kind, entity, old, user_id)
            return copy.deepcopy(record)

    def _emit(
        self,
        portal: Portal,
        action: str,
        kind: str,
        entity: dict,
        old: dict | None,
        user_id: int,
    ) -> None:
        for listener in self.listeners:
            listener(portal, action, kind, copy.deepcopy(entity), old, user_id)


def reseed(portal: Portal, stream: str, seed: int) -> None:
    """Restart one random stream of a portal (`api` faults or `delivery`) from
    `seed`; the domain is mixed in so portals draw independently."""
    setattr(portal, f"{stream}_random", random.Random(f"{seed}:{portal.domain}"))


def _normalise(values: dict[str, Any]) -> dict[str, Any]:
    """Writes send `[{value, type}]` for phones and emails; reads carry full items."""
    out = dict(values)
    for key in ("phone", "email"):
        if isinstance(out.get(key), list):
            out[key] = [
                {
                    "id": item.get("id") or f"{key[0]}{i + 1}",
                    "type": item.get("type", "work"),
                    "value": item.get("value", ""),
                    "main": item.get("main", i == 0),
                    "sort": str(item.get("sort", i)),
                }
                for i, item in enumerate(out[key])
            ]
    return out
