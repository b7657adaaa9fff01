"""Inbox and history rows of contacts that leave a CRM account, for the
removals in app/services/crm/privacy.py: which rows name a contact, who survives
a merge, moving a merged lead's history, and the rescoring queued for a survivor.
These functions take the caller's session and never commit.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, or_, select, update
from sqlalchemy.orm import Session

from app.models import CrmEvent, LeadSnapshot, ScoreHistory
from app.models.sync import DONE, PENDING

CONTACTS = "contacts"
# The inbox kind that makes the contact drain read and rescore a contact.
RESCORE_KIND = "contact.propertyChange"
_CHUNK = 500  # ids per IN list


def merge_parties(
    object_id: str | None, payload: dict[str, Any]
) -> tuple[str | None, list[str]]:
    """The surviving contact of a merge and the contacts merged into it.

    The primary survives, unless the merge made a new record (`newObjectId`
    set and different): then the primary is merged into it as well.
    """
    primary = id_text(payload.get("primaryObjectId")) or id_text(object_id)
    new = id_text(payload.get("newObjectId"))
    survivor = new if new is not None and new != primary else primary
    listed = payload.get("mergedObjectIds")
    named = [primary, id_text(object_id)]
    named += [id_text(item) for item in listed] if type(listed) is list else []
    merged = [i for i in dict.fromkeys(named) if i is not None and i != survivor]
    return survivor, merged


def names_contact(
    kind: str, object_type: str, object_id: str | None, payload: Any, contact_id: str
) -> bool:
    """Whether an inbox row is about the contact: as its record, as the contact
    side of an association, or as a party to a contact merge."""
    if object_type == CONTACTS and object_id == contact_id:
        return True
    if type(payload) is not dict:
        return False
    if kind.endswith(".associationChange"):
        sides = _contact_sides(str(payload.get("associationType") or ""))
        return any(id_text(payload.get(side)) == contact_id for side in sides)
    if object_type == CONTACTS and kind.endswith(".merge"):
        survivor, merged = merge_parties(object_id, payload)
        return contact_id == survivor or contact_id in merged
    return False


def _contact_sides(association_type: str) -> tuple[str, ...]:
    """Which ids of an association event are contacts (CONTACT_TO_DEAL: from;
    DEAL_TO_CONTACT: to); both when the type does not tell."""
    source, separator, target = association_type.upper().partition("_TO_")
    if not separator:
        return ("fromObjectId", "toObjectId")
    return tuple(
        side
        for side, name in (("fromObjectId", source), ("toObjectId", target))
        if name == "CONTACT"
    )


def events_naming(session: Session, account_pk: int, contact_id: str) -> list[int]:
    """Every inbox row of the account about the contact, in any status.

    The database narrows by the id's digits anywhere in the row (ids sit in the
    JSON payload as numbers or strings, which no portable JSON operator reads
    alike); the exact check runs here.
    """
    rows = session.execute(
        select(
            CrmEvent.id,
            CrmEvent.kind,
            CrmEvent.object_type,
            CrmEvent.object_id,
            CrmEvent.payload,
        ).where(
            CrmEvent.account_pk == account_pk,
            or_(
                CrmEvent.object_id == contact_id,
                cast(CrmEvent.payload, Text).contains(contact_id, autoescape=True),
            ),
        )
    )
    return [row.id for row in rows if names_contact(*row[1:], contact_id)]


def drop_events(session: Session, event_ids: Iterable[int]) -> None:
    """Delete inbox rows outright: rows about a contact that is gone."""
    ids = list(event_ids)
    for start in range(0, len(ids), _CHUNK):
        session.execute(
            delete(CrmEvent).where(CrmEvent.id.in_(ids[start : start + _CHUNK])),
            execution_options={"synchronize_session": False},
        )


def drop_settled(
    session: Session, event_ids: Sequence[int], gone: Iterable[str]
) -> None:
    """Delete the settled rows among `event_ids` that are about contacts the CRM
    no longer has: a redelivery would only find them gone again."""
    ids, contacts = list(event_ids), sorted(gone)
    for start in range(0, len(contacts), _CHUNK):
        session.execute(
            delete(CrmEvent).where(
                CrmEvent.id.in_(ids),
                CrmEvent.object_type == CONTACTS,
                CrmEvent.object_id.in_(contacts[start : start + _CHUNK]),
                CrmEvent.status == DONE,
            ),
            execution_options={"synchronize_session": False},
        )


def move_lead(session: Session, client_id: str, source: str, target: str) -> None:
    """Score history and snapshot of lead `source` now belong to `target`; of the
    two snapshots the newer is kept."""
    session.execute(
        update(ScoreHistory)
        .where(ScoreHistory.client_id == client_id, ScoreHistory.lead_key == source)
        .values(lead_key=target),
        execution_options={"synchronize_session": False},
    )
    scored = dict(
        session.execute(
            select(LeadSnapshot.lead_key, LeadSnapshot.scored_at).where(
                LeadSnapshot.client_id == client_id,
                LeadSnapshot.lead_key.in_([source, target]),
            )
        ).all()
    )
    if source not in scored:
        return
    if target in scored and scored[target] >= scored[source]:
        doomed = source
    else:
        doomed = target
    session.execute(
        delete(LeadSnapshot).where(
            LeadSnapshot.client_id == client_id, LeadSnapshot.lead_key == doomed
        ),
        execution_options={"synchronize_session": False},
    )
    if doomed == target:
        session.execute(
            update(LeadSnapshot)
            .where(LeadSnapshot.client_id == client_id, LeadSnapshot.lead_key == source)
            .values(lead_key=target),
            execution_options={"synchronize_session": False},
        )


def queue_rescore(
    session: Session, merge: CrmEvent, survivor: str, now: datetime
) -> None:
    """An inbox row that makes the contact drain read and rescore the survivor;
    its key derives from the merge's, so applying a merge twice queues one."""
    digest = hashlib.sha256(f"{merge.dedupe_key}:rescore:{survivor}".encode())
    dedupe_key = merge.dedupe_key[:12] + digest.hexdigest()[:52]
    queued = session.scalar(
        select(CrmEvent.id).where(
            CrmEvent.account_pk == merge.account_pk,
            CrmEvent.dedupe_key == dedupe_key,
        )
    )
    if queued is None:
        session.add(
            CrmEvent(
                account_pk=merge.account_pk,
                dedupe_key=dedupe_key,
                kind=RESCORE_KIND,
                object_type=CONTACTS,
                object_id=survivor,
                payload={"cause": merge.kind},
                occurred_at=merge.occurred_at,
                received_at=now,
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
            )
        )


def id_text(value: Any) -> str | None:
    """A positive record id (a JSON number or a string of digits) in decimal."""
    if type(value) is int and 0 < value < 2**63:
        return str(value)
    if type(value) is str and 0 < len(value) <= 19 and value.isascii():
        if value.isdigit() and 0 < int(value) < 2**63:
            return str(int(value))
    return None
