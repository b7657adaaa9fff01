"""Keeping a HubSpot portal's scores in step, for HubSpotApp: the worker's drains
(removals, contacts, deals), backfills, rescoring, and the per-portal mapping.

A mixin of HubSpotApp (app/services/crm/hubspot_app.py), which provides the
sessions, the adapter (`client`), the record sync and the drains.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.crm.hubspot.client import HubSpotAccount
from app.crm.hubspot.config import CRM
from app.crm.hubspot.mapping import default_properties
from app.crm.retry import CallTally
from app.models.crm import INSTALLED, CrmAccount
from app.services.crm.outcomes import DEAL_KINDS, DealOutcomes
from app.services.crm.privacy import REMOVAL_KINDS, ContactRemovals
from app.services.crm.sync import RESCORE_KINDS, DrainResult, RecordSync
from app.services.errors import InvalidInput
from app.services.tasks import TaskQueue

# HubSpot's internal property names: lower case, digits and underscores.
_PROPERTY_NAME = re.compile(r"[a-z][a-z0-9_]{0,99}")
# Every event type a drain of `sync` claims; the webhook subscriptions must be
# exactly these (tests/crm_app/test_hubspot_handlers.py holds both to it).
HANDLED_KINDS = (*REMOVAL_KINDS, *RESCORE_KINDS, *DEAL_KINDS)


class PortalSync:
    """Drains, backfill, rescoring and mapping of HubSpot portals."""

    _sessions: sessionmaker[Session]
    _sync: RecordSync
    _tasks: TaskQueue
    _removals: ContactRemovals
    outcomes: DealOutcomes

    def client(self, account_pk: int, on_call: Any = None) -> HubSpotAccount:
        raise NotImplementedError

    def account_pk(self, account_id: str) -> int:
        raise NotImplementedError

    def set_mapping(self, account_id: str, changes: dict[str, str | None]) -> dict:
        """Read lead fields from other properties of the portal (None: back to
        the default); every contact is then read and scored again."""
        known = default_properties()
        for field_name, name in changes.items():
            if field_name not in known:
                raise InvalidInput(
                    f"unknown lead field {field_name!r}; one of: {', '.join(known)}"
                )
            if name is not None and (
                not _PROPERTY_NAME.fullmatch(name) or name.startswith("conturs_")
            ):
                raise InvalidInput(f"{name!r} is not a HubSpot property to read")
        pk = self.account_pk(account_id)
        mapping = self._sync.set_mapping(pk, changes)
        self._sync.restart_backfill(pk)
        self._tasks.enqueue("backfill_account", account_pk=pk)
        return mapping

    @contextmanager
    def _counted(self, account_pk: int) -> Iterator[HubSpotAccount]:
        """The adapter, with its calls counted into the portal's success rate."""
        tally = CallTally()
        try:
            yield self.client(account_pk, tally)
        finally:
            self._sync.record_calls(account_pk, tally.counts())

    def sync(self, account_pk: int) -> DrainResult:
        """Apply the portal's due inbox events (a worker task)."""
        removed = self._removals.drain(account_pk)  # contacts gone come first
        with self._counted(account_pk) as crm:
            result = self.outcomes.drain_with(self._sync, account_pk, crm)
        return replace(result, events=result.events + removed)

    def backfill(self, account_pk: int, pages: int = 10) -> bool:
        """Score more of the portal's existing contacts; True once all are done."""
        with self._counted(account_pk) as crm:
            return self._sync.backfill(account_pk, crm, pages)

    def rescore(self, account_pk: int) -> int:
        """Rescore the portal from stored inputs; returns the records written."""
        with self._counted(account_pk) as crm:
            return self._sync.rescore(account_pk, crm)

    def weights_changed(self, account_pk: int) -> bool:
        """Whether the portal's weights moved since its records were scored."""
        return self._sync.weights_changed(account_pk)

    def unfinished_backfills(self) -> list[int]:
        """Installed portals whose backfill has not reached the end."""
        finished = set(self._sync.finished_backfills())
        return [pk for pk in self.installed_pks() if pk not in finished]

    def installed_pks(self) -> list[int]:
        """Row ids of every installed portal."""
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(CrmAccount.id).where(
                        CrmAccount.crm == CRM, CrmAccount.status == INSTALLED
                    )
                )
            )
