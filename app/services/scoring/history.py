"""Score history: what a lead's factor values and score were, and since when.

The snapshot in lead_snapshots is a lead's current state; a history row is appended
only when a new score differs from it, so an outcome can be matched with the values
the lead had before it while re-scoring an unchanged lead writes nothing. These
functions take the caller's session and never commit: the caller owns the
transaction.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, insert, literal, select, tuple_
from sqlalchemy.orm import Session

from app.db import conflict_insert
from app.models import LeadSnapshot, ScoreHistory

# Bounds the IN lists and multi-row VALUES, well under every backend's
# bound-parameter limit.
_CHUNK = 500

_COPIED = ("factor_values", "score", "label", "weights_version", "scored_at")

_Key = tuple[str, str]
# What decides "changed": stored values, score, label, weights version.
_State = tuple[list[float], int | None, str | None, int | None]


@dataclass(frozen=True)
class ScoredLead:
    """One lead as just scored for one client."""

    client_id: str
    lead_key: str
    values: tuple[float, ...]
    score: int
    label: str
    weights_version: int | None
    scored_at: datetime


def record_scores(session: Session, scored: Sequence[ScoredLead]) -> int:
    """Append history and update snapshots only for leads whose score changed, so
    history grows with changes, not with traffic; returns history rows appended."""
    # A lead scored twice in one batch: only its last score is its current one.
    latest: dict[_Key, ScoredLead] = {}
    for lead in scored:
        latest[(lead.client_id, lead.lead_key)] = lead
    if not latest:
        return 0
    current = _current_states(session, list(latest))
    changed = [
        lead for key, lead in latest.items() if current.get(key) != _state_of(lead)
    ]
    if not changed:
        return 0
    session.execute(insert(ScoreHistory), [_row(lead) for lead in changed])
    _upsert_snapshots(session, changed)
    return len(changed)


def carry_history(
    session: Session, client_id: str, source: str, targets: Iterable[str]
) -> int:
    """Lead `source` became the `targets` (a CRM lead converted into a contact):
    its score history is copied to theirs, so an outcome of the new record is
    matched with what was known before it existed. The source keeps its own.
    With its history pruned, its snapshot is copied as one row. Returns rows
    copied."""
    copied = 0
    for target in dict.fromkeys(targets):
        if target == source:
            continue
        for model in (ScoreHistory, LeadSnapshot):
            rows = select(
                model.client_id,
                literal(target, ScoreHistory.lead_key.type),
                *(getattr(model, name) for name in _COPIED),
            ).where(model.client_id == client_id, model.lead_key == source)
            done = _rowcount(
                session.execute(
                    insert(ScoreHistory).from_select(
                        ["client_id", "lead_key", *_COPIED], rows
                    )
                )
            )
            copied += done
            if done:
                break
    return copied


def values_at(
    session: Session, client_id: str, lead_key: str, at: datetime
) -> tuple[float, ...] | None:
    """The factor values a lead had at `at`, to learn from an outcome with what was
    known before it; None when nothing recorded goes back that far."""
    values = session.execute(
        select(ScoreHistory.factor_values)
        .where(
            ScoreHistory.client_id == client_id,
            ScoreHistory.lead_key == lead_key,
            ScoreHistory.scored_at <= at,
        )
        # Rows with the same time: the one appended last is the later state.
        .order_by(ScoreHistory.scored_at.desc(), ScoreHistory.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if values is None:
        # With the history pruned, the snapshot still holds the values the lead
        # has had unchanged since its scored_at.
        values = session.execute(
            select(LeadSnapshot.factor_values).where(
                LeadSnapshot.client_id == client_id,
                LeadSnapshot.lead_key == lead_key,
                LeadSnapshot.scored_at <= at,
            )
        ).scalar_one_or_none()
    return None if values is None else tuple(float(v) for v in values)


def forget_lead(session: Session, client_id: str, lead_key: str) -> int:
    """Delete everything recorded about one lead of one client, for privacy
    requests; returns the rows deleted (history and snapshot)."""
    deleted = _rowcount(
        session.execute(
            delete(ScoreHistory).where(
                ScoreHistory.client_id == client_id,
                ScoreHistory.lead_key == lead_key,
            )
        )
    )
    deleted += _rowcount(
        session.execute(
            delete(LeadSnapshot).where(
                LeadSnapshot.client_id == client_id,
                LeadSnapshot.lead_key == lead_key,
            )
        )
    )
    return deleted


def prune_history(session: Session, older_than: datetime, batch: int = 10_000) -> int:
    """Delete history rows from before `older_than`, oldest first, at most `batch`
    per statement so no single DELETE has to hold the whole backlog; snapshots stay,
    so values_at still answers from them. Returns the rows deleted."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    oldest = (
        select(ScoreHistory.id)
        .where(ScoreHistory.scored_at < older_than)
        .order_by(ScoreHistory.scored_at)
        .limit(batch)
    )
    statement = delete(ScoreHistory).where(
        ScoreHistory.id.in_(oldest.scalar_subquery())
    )
    total = 0
    while True:
        deleted = _rowcount(
            session.execute(
                statement,
                # History rows are not kept loaded in sessions; nothing to sync.
                execution_options={"synchronize_session": False},
            )
        )
        total += deleted
        if deleted < batch:
            return total


def _current_states(session: Session, keys: list[_Key]) -> dict[_Key, _State]:
    """The snapshot state of each (client, lead) that has one, read in chunks."""
    pair = tuple_(LeadSnapshot.client_id, LeadSnapshot.lead_key)
    states: dict[_Key, _State] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.execute(
            select(
                LeadSnapshot.client_id,
                LeadSnapshot.lead_key,
                LeadSnapshot.factor_values,
                LeadSnapshot.score,
                LeadSnapshot.label,
                LeadSnapshot.weights_version,
            ).where(pair.in_(keys[start : start + _CHUNK]))
        )
        for client_id, key, values, score, label, version in rows:
            states[(client_id, key)] = (_floats(values), score, label, version)
    return states


def _state_of(lead: ScoredLead) -> _State:
    return (_floats(lead.values), lead.score, lead.label, lead.weights_version)


def _floats(values: Iterable[Any]) -> list[float]:
    # JSON reads a whole-number float back as an int (and may be handed ints);
    # float() makes 1 and 1.0 compare as the same stored value.
    return [float(v) for v in values]


def _row(lead: ScoredLead) -> dict[str, Any]:
    return {
        "client_id": lead.client_id,
        "lead_key": lead.lead_key,
        "factor_values": _floats(lead.values),
        "score": lead.score,
        "label": lead.label,
        "weights_version": lead.weights_version,
        "scored_at": lead.scored_at,
    }


def _upsert_snapshots(session: Session, leads: list[ScoredLead]) -> None:
    upsert = conflict_insert(session.get_bind().dialect.name)
    rows = [_row(lead) for lead in leads]
    for start in range(0, len(rows), _CHUNK):
        statement = upsert(LeadSnapshot).values(rows[start : start + _CHUNK])
        new = statement.excluded
        statement = statement.on_conflict_do_update(
            index_elements=["client_id", "lead_key"],
            set_={
                "factor_values": new.factor_values,
                "score": new.score,
                "label": new.label,
                "weights_version": new.weights_version,
                "scored_at": new.scored_at,
            },
        )
        session.execute(statement)


def _rowcount(result: Any) -> int:
    return cast(CursorResult[Any], result).rowcount
