"""The records of the HubSpot emulation: accounts (portals), CRM records, the
errors the store raises, and the default deal pipeline."""

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.default_properties import PROPERTIES, property_definition
from app.sandbox.hubspot.ids import RecordIds, record_ids
from app.sandbox.hubspot.index import SearchIndex
from app.sandbox.hubspot.knobs import DEFAULT_SEARCH_INDEX_DELAY, default_knobs
from app.sandbox.hubspot.values import InvalidValue

Change = dict[str, Any]
# (unix time, sourceType, sourceId, the values that changed)
HistoryEntry = tuple[float, str, str, dict[str, str]]
INTEGRATION = "INTEGRATION"
CRM_UI = "CRM_UI"
IMPORT = "IMPORT"
# HubSpot's own rollups and calculated properties (counts, deal outcome).
CALCULATED = "CALCULATED"
# What `HubSpotSandbox.writes` remembers of the app's writes, newest kept.
MAX_WRITE_LOG = 100_000


def source_id(source: str, user_id: int, app_id: int) -> str | None:
    """HubSpot's `sourceId` for a change: the app's id for its API writes, the
    acting user otherwise, none for HubSpot's own calculations. [guess: the value
    set is unpublished; deliveries show an app id for INTEGRATION and
    `userId:<id>` for changes made in the UI; imports are given the importing
    user here]"""
    if source == INTEGRATION:
        return str(app_id)
    if source == CALCULATED:
        return None
    return f"userId:{user_id}"


class NotFound(Exception):
    """No such (live) record."""


class Conflict(Exception):
    """A unique value already exists; HubSpot's 409 `CONFLICT`."""


class ValidationFailed(Exception):
    """One or more property values were rejected."""

    def __init__(self, problems: list[InvalidValue]) -> None:
        super().__init__("; ".join(problem.message for problem in problems))
        self.problems = problems


@dataclass(slots=True, eq=False)
class Record:
    """One contact, company or deal.

    `properties` is replaced, never changed in place, on every write: search
    snapshots and history entries share the dicts of earlier states.
    """

    id: str
    properties: dict[str, str]
    created_at: float
    updated_at: float
    history: list[HistoryEntry] = field(default_factory=list)
    archived: bool = False
    archived_at: float | None = None


@dataclass
class Account:
    """One HubSpot portal with the app installed (or once installed)."""

    hub_id: int
    user_id: int
    user: str
    hub_domain: str
    objects: dict[str, dict[str, Record]] = field(default_factory=dict)
    # Every record id of a type (archived ones too), ascending: list paging.
    order: dict[str, list[int]] = field(default_factory=dict)
    search: dict[str, SearchIndex] = field(default_factory=dict)
    # Lower-cased email → the live contact that has it.
    emails: dict[str, str] = field(default_factory=dict)
    # (from type, to type) → from id → associated ids; kept for both directions.
    links: dict[tuple[str, str], dict[str, set[str]]] = field(default_factory=dict)
    # Contact id → its primary company's id.
    primary_company: dict[str, str] = field(default_factory=dict)
    properties: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    pipelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    installed: bool = True
    faults: dict[str, Any] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    writes: deque = field(default_factory=lambda: deque(maxlen=MAX_WRITE_LOG))
    ids: dict[str, RecordIds] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=default_knobs)

    def pipeline_of_stage(self, stage_id: str) -> tuple[dict, dict] | None:
        """Find (pipeline, stage) for a deal stage id."""
        for pipeline in self.pipelines["deals"]:
            for stage in pipeline["stages"]:
                if stage["id"] == stage_id:
                    return pipeline, stage
        return None


def pipeline(
    pipeline_id: str,
    label: str,
    order: int,
    stages: list[tuple[str, str, str, bool]],
    now: str,
) -> dict[str, Any]:
    """A deal pipeline as HubSpot returns it; stages are (id, label, probability,
    is_closed)."""
    return {
        "id": pipeline_id,
        "label": label,
        "displayOrder": order,
        "stages": [
            {
                "id": stage_id,
                "label": stage_label,
                "displayOrder": stage_order,
                "metadata": {
                    "isClosed": "true" if closed else "false",
                    "probability": probability,
                },
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
            }
            for stage_order, (stage_id, stage_label, probability, closed) in enumerate(
                stages
            )
        ],
        "createdAt": now,
        "updatedAt": now,
        "archived": False,
    }


def default_pipeline(now: str) -> dict[str, Any]:
    return pipeline(
        "default", "Sales Pipeline", 0, defaults.DEFAULT_PIPELINE_STAGES, now
    )


def new_account(
    hub_id: int,
    user: str | None,
    user_id: int | None,
    now: str,
    seed: int = 0,
    search_index_delay: float = DEFAULT_SEARCH_INDEX_DELAY,
) -> Account:
    """A portal as HubSpot creates it: default groups, properties and pipeline."""
    account = Account(
        hub_id=hub_id,
        user_id=user_id or 7000000 + hub_id % 1000000,
        user=user or f"admin@portal-{hub_id}.example",
        hub_domain=f"portal-{hub_id}.hubspot.example",
        knobs=default_knobs(search_index_delay),
    )
    for otype in defaults.OBJECT_TYPES:
        account.objects[otype] = {}
        account.order[otype] = []
        account.search[otype] = SearchIndex()
        account.ids[otype] = record_ids(hub_id, otype, seed)
        account.properties[otype] = {
            name: property_definition(name, spec, now)
            for name, spec in PROPERTIES[otype].items()
        }
        account.groups[otype] = {
            name: {
                "name": name,
                "label": label,
                "displayOrder": i,
                "archived": False,
            }
            for i, (name, label) in enumerate(defaults.GROUPS[otype])
        }
    for pair in defaults.ASSOCIATION_TYPES:
        account.links[pair] = {}
    account.pipelines["deals"] = [default_pipeline(now)]
    return account
