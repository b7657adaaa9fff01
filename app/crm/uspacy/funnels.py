"""Stages of a portal's lead and deal funnels, and what they mean: a stage whose
code is SUCCESS is won, FAIL is lost, any other is open (Uspacy's system stage
codes). When a record's stage is not in the funnels, its own `kanban_status`
(IN_WORK / SUCCESS / FAIL) decides.

Funnels are fetched once per portal and object type, and again when a record
sits in a stage not seen yet; a stage still unknown after that is remembered,
so a record in a deleted stage does not refetch the funnels on every read.
"""

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from app.crm.base import Outcome
from app.crm.uspacy import contract, values

# Uspacy allows a bounded number of funnels and stages; this bounds the cache
# whatever a portal sends.
MAX_STAGES = 10_000
MAX_UNKNOWN_STAGES = 1_000
# Returns an object type's funnels as Uspacy sends them (stages nested).
Fetch = Callable[[], Iterable[Any]]


@dataclass(frozen=True, slots=True)
class Stage:
    """One kanban stage: its funnel and its code (NEW, SUCCESS, a custom one…)."""

    funnel_id: str | None
    code: str


def outcome_of(stage_code: str | None, status: Any = None) -> Outcome:
    """won / lost / open from a stage's code, else from a record's status."""
    for said in (stage_code, status):
        if said == contract.WON_CODE:
            return "won"
        if said == contract.LOST_CODE:
            return "lost"
    return "open"


def stages_of(funnels: Iterable[Any]) -> dict[str, Stage]:
    """Stage id -> Stage, from funnels with their stages nested."""
    found: dict[str, Stage] = {}
    for funnel in funnels:
        if not isinstance(funnel, dict):
            continue
        funnel_id = values.record_id(funnel.get("id"))
        for stage in funnel.get("stages") or []:
            if len(found) >= MAX_STAGES:
                return found
            if not isinstance(stage, dict):
                continue
            stage_id = values.record_id(stage.get("id"))
            code = stage.get(contract.STAGE_CODE_KEY)
            if stage_id is not None and isinstance(code, str):
                found[stage_id] = Stage(
                    values.record_id(stage.get(contract.FUNNEL_KEY)) or funnel_id,
                    code,
                )
    return found


class FunnelBook:
    """The stages of one portal's funnels, per object type ("leads", "deals").

    The services may keep one book per portal across adapters, so the funnels
    are fetched once; `fetch` is given by the adapter asking.
    """

    def __init__(self) -> None:
        self._stages: dict[str, dict[str, Stage]] = {}
        self._unknown: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def stage(self, object_type: str, stage_id: Any, fetch: Fetch) -> Stage | None:
        """The stage with this id, fetching the funnels when it is not known."""
        key = values.record_id(stage_id)
        if key is None:
            return None
        with self._lock:
            known = self._stages.get(object_type)
            unknown = self._unknown.setdefault(object_type, set())
            if known is not None and (key in known or key in unknown):
                return known.get(key)
        fetched = stages_of(fetch())
        with self._lock:
            self._stages[object_type] = fetched
            unknown = self._unknown[object_type] = set()
            if key not in fetched:
                if len(unknown) >= MAX_UNKNOWN_STAGES:
                    unknown.clear()
                unknown.add(key)
        return fetched.get(key)
