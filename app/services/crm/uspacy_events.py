"""Uspacy webhook deliveries into the inbox: the intake half of the Uspacy app's
"acknowledge fast, work later".

A delivery reaches the portal's own secret URL, so the key in it is what names
(and authenticates) the portal: an unknown key stores nothing. The handshake is
answered by fetching its link (only on the portal's own host). Every other
body is read loosely (app/crm/uspacy/deliveries.py) and each event becomes inbox
events of the shared inbox (app/services/crm/inbox.py), stored once per
account by their dedupe keys:

- a lead or contact created or changed → `record.creation` / `record.change`
  (the drain reads the record again and scores it);
- a deal or lead moved to another stage → `deal.stageChange` /
  `lead.stageChange` (the outcomes drain reads it again: won / lost →
  feedback, once);
- anything the app's own user did (our score writes coming back) is dropped,
  as are events about other tables, deletions (a lead or contact deleted is
  found gone by the daily walk) and events without a record id.

Nothing of a body's field values is kept: the records are read again over REST.
A mixin of UspacyApp (uspacy_app.py), which provides the sessions, the inbox
and the webhook confirmation.
"""

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.base import CrmError
from app.crm.uspacy.config import CRM
from app.crm.uspacy.deliveries import Confirmation, RecordEvent, parse_delivery
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.inbox import EventInbox, InboxEvent
from app.services.crm.uspacy_setup import MAX_KEY_CHARS, key_hash
from app.services.errors import InvalidInput, NotFound, Unavailable

SCORED = ("leads", "contacts")
STAGED = {"deals": "deal.stageChange", "leads": "lead.stageChange"}
CHANGES = {"create": "record.creation", "update": "record.change"}


@dataclass(frozen=True, slots=True)
class Received:
    """What became of a delivery: stored now, seen before, dropped, and
    whether it was the handshake."""

    stored: int = 0
    duplicates: int = 0
    dropped: int = 0
    confirmed: bool = False


def inbox_events(
    events: Sequence[RecordEvent], own_user_id: str | None
) -> tuple[list[InboxEvent], int]:
    """The inbox events of a delivery's events, and how many were dropped."""
    kept: list[InboxEvent] = []
    dropped = 0
    for event in events:
        ours = own_user_id is not None and event.user_id == own_user_id
        kinds = [] if ours else _kinds(event)
        if not kinds:
            dropped += 1
        for kind in kinds:
            key = hashlib.sha256(f"{event.dedupe_key}:{kind}".encode()).hexdigest()
            kept.append(
                InboxEvent(
                    kind=kind,
                    object_type=event.table,
                    object_id=event.record_id,
                    occurred_at=event.occurred_at,
                    dedupe_key=key,
                    payload={"action": event.action, "user_id": event.user_id},
                )
            )
    return kept, dropped


def _kinds(event: RecordEvent) -> list[str]:
    kinds = []
    if event.table in SCORED:
        # A stage move changes a lead's status, so it is rescored as well.
        change = CHANGES.get("update" if event.stage_moved else event.action)
        if change is not None:
            kinds.append(change)
    if event.stage_moved and event.table in STAGED:
        kinds.append(STAGED[event.table])
    return kinds


class PortalEvents:
    """Webhook intake of Uspacy portals, for UspacyApp."""

    _sessions: sessionmaker[Session]
    _inbox: EventInbox
    _clock: Callable[[], datetime]

    def confirm_webhook(self, account_pk: int, validation_link: str) -> None:
        raise NotImplementedError

    def receive(self, key: str, body: bytes) -> Received:
        """One delivery to the webhook URL carrying `key`. NotFound for a key
        of no installed portal, InvalidInput for a body that is not JSON (or a
        handshake link off the portal's host), Unavailable when the handshake
        cannot reach Uspacy now (Uspacy sends it again)."""
        found = self._portal_of_key(key)
        if found is None:
            raise NotFound("no installed Uspacy portal has this webhook URL")
        account_pk, own_user_id = found
        try:
            parsed = parse_delivery(body, self._clock())
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        if isinstance(parsed, Confirmation):
            try:
                self.confirm_webhook(account_pk, parsed.link)
            except CrmError as failure:
                raise Unavailable(f"Uspacy did not confirm: {failure}") from None
            return Received(confirmed=True)
        events, dropped = inbox_events(parsed, own_user_id)
        result = self._inbox.store(account_pk, events)
        return Received(result.stored, result.duplicates, dropped)

    def _portal_of_key(self, key: str) -> tuple[int, str | None] | None:
        """(account pk, the app's user id there) of the installed portal whose
        webhook URL carries `key`."""
        if not isinstance(key, str) or not 0 < len(key) <= MAX_KEY_CHARS:
            return None
        with self._sessions() as session:
            row = session.execute(
                select(CrmAccount.id, CrmAccount.app_user_id).where(
                    CrmAccount.crm == CRM,
                    CrmAccount.status == INSTALLED,
                    CrmAccount.webhook_key_hash == key_hash(key),
                )
            ).one_or_none()
        return (row[0], row[1]) if row is not None else None
