"""The rules behind CRM outcomes, apart from their storage: which deal an inbox
event is about, what a deal's stage means as feedback, when it closed, which
closed deal decides a contact's outcome, the per-account stage overrides an
operator may set, and the pipeline knowledge kept per account.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.crm.base import Deal, own_outcome_id
from app.models.outcomes import LOST, WON
from app.services.errors import InvalidInput

CONVERTED, IGNORED, NO_ACTION = "converted", "ignored", "none"
STAGE_ACTIONS = (CONVERTED, IGNORED, NO_ACTION)
MAX_STAGE_ACTIONS = 1_000
# HubSpot stage ids: "closedwon", numeric ids of custom stages, or UUIDs.
_STAGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")
_MAX_ID_CHARS = 32
# Bounds the IN lists, well under every backend's bound-parameter limit.
CHUNK = 500


# -- events -----------------------------------------------------------------------


def deal_ids_of(kind: str, object_id: str | None, payload: Any) -> list[str]:
    """The deals an inbox event is about; [] when it cannot change an outcome."""
    data = payload if isinstance(payload, dict) else {}
    if kind == "deal.propertyChange":
        return _ids(object_id) if data.get("propertyName") == "dealstage" else []
    if kind == "deal.associationChange":
        # These carry no objectId: the deal is the side the type names first.
        association = str(data.get("associationType") or "").upper()
        if association.startswith("DEAL_TO_CONTACT"):
            return _ids(data.get("fromObjectId"))
        if association.startswith("CONTACT_TO_DEAL"):
            return _ids(data.get("toObjectId"))
        return []
    if kind == "deal.merge":
        merged = data.get("mergedObjectIds")
        others = merged[:100] if isinstance(merged, list) else []
        ids = _ids(object_id) + [i for raw in others for i in _ids(raw)]
        return list(dict.fromkeys(ids))
    if kind in ("deal.deletion", "deal.restore", "deal.stageChange"):
        return _ids(object_id)
    if kind == "lead.stageChange":
        return [own_outcome_id("leads", i) for i in _ids(object_id)]
    return []


def _ids(raw: Any) -> list[str]:
    """A record id (digits, at most 64-bit) as one canonical string, or none."""
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return []
    value = int(text)
    return [str(value)] if 0 < value < 2**63 else []


# -- deals and contacts -----------------------------------------------------------


def action_of(deal: Deal | None, stage_actions: Mapping[str, str]) -> str | None:
    """converted / ignored for a closed deal, None for an open or missing one;
    the account's override of the deal's stage comes first."""
    if deal is None:
        return None
    override = stage_actions.get(deal.stage_id)
    if override is not None:
        return None if override == NO_ACTION else override
    return {"won": CONVERTED, "lost": IGNORED}.get(deal.outcome)


def outcome_for(action: str) -> str:
    """The ledger's won / lost for a feedback action."""
    return WON if action == CONVERTED else LOST


def action_for(outcome: str) -> str:
    """The feedback action of a ledger outcome."""
    return CONVERTED if outcome == WON else IGNORED


@dataclass(frozen=True)
class ClosedDeal:
    """One closed deal of a contact, as the ledger holds it."""

    deal_id: str
    contact_id: str
    outcome: str
    stage_id: str
    closed_at: datetime


def deciding(deals: Iterable[ClosedDeal]) -> ClosedDeal | None:
    """The deal that decides a contact's outcome: the latest closed; on a tie,
    a won one (then the highest id, so every run picks the same)."""
    return max(
        deals,
        key=lambda d: (d.closed_at, d.outcome == WON, len(d.deal_id), d.deal_id),
        default=None,
    )


def clean_contact_ids(ids: Sequence[str]) -> list[str]:
    """The ids the ledger can hold (CRM ids are at most 32 characters)."""
    return [i for i in dict.fromkeys(ids) if 0 < len(i) <= _MAX_ID_CHARS]


def closed_rows(
    deals: Mapping[str, Deal | None],
    first_seen: Mapping[str, datetime],
    before: Sequence[ClosedDeal],
    stage_actions: Mapping[str, str],
    since: datetime,
) -> list[ClosedDeal]:
    """The closed-deal rows the deals call for now, one per contact of a closed
    deal. A deal closed when its close date says or, if earlier, at its first
    change seen (a close date may lie in the future); one that closed before
    `since` (our first install) is not ours to learn from. A row that stays in
    the same stage keeps its moment, so reading a deal again moves nothing."""
    known = {(r.deal_id, r.contact_id): r for r in before}
    rows = []
    for deal_id, deal in deals.items():
        action = action_of(deal, stage_actions)
        if deal is None or action is None:
            continue
        moment = min(m for m in (deal.closed_at, first_seen[deal_id]) if m)
        if moment < since:
            continue
        outcome, stage_id = outcome_for(action), deal.stage_id[:64]
        for contact_id in clean_contact_ids(deal.contact_ids):
            seen = known.get((deal_id, contact_id))
            if seen and (seen.outcome, seen.stage_id) == (outcome, stage_id):
                rows.append(seen)
            else:
                rows.append(ClosedDeal(deal_id, contact_id, outcome, stage_id, moment))
    return rows


# -- stage overrides --------------------------------------------------------------


def merged_stage_actions(
    current: Mapping[str, str], changes: Mapping[str, str | None]
) -> dict[str, str]:
    """The overrides after `changes` (None removes one), checked."""
    for stage_id, action in changes.items():
        if not isinstance(stage_id, str) or not _STAGE_ID.fullmatch(stage_id):
            raise InvalidInput(f"{stage_id!r} is not a deal stage id")
        if action is not None and action not in STAGE_ACTIONS:
            raise InvalidInput(
                f"unknown stage action {action!r}; one of: {', '.join(STAGE_ACTIONS)}"
            )
    merged = {**current, **changes}
    result = {k: v for k, v in merged.items() if v is not None}
    if len(result) > MAX_STAGE_ACTIONS:
        raise InvalidInput(f"at most {MAX_STAGE_ACTIONS} stage overrides")
    return result
