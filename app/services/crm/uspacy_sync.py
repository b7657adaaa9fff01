"""Keeping a Uspacy portal's scores and outcomes in step, for UspacyApp: the
worker's drain (leads and contacts rescored, then deal and lead stage moves
turned into feedback), the backfill over leads and contacts, rescoring from
stored inputs (new weights, daily decay), the daily reconciliation, and which
stage means what as an outcome.

Everything here goes through the shared services (RecordSync, DealOutcomes)
with the portal's adapter; only the wiring is Uspacy's.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any

from app.crm.uspacy.client import UspacyAccount
from app.crm.uspacy.mapping import checked_overrides
from app.services.crm.outcomes import DealOutcomes
from app.services.crm.sync import DrainResult, RecordSync
from app.services.errors import InvalidInput
from app.services.tasks import TaskQueue

SYNC_TASK = "uspacy_sync_account"
BACKFILL_TASK = "uspacy_backfill_account"
RESCORE_TASK = "uspacy_rescore_account"
SETUP_TASK = "uspacy_setup_account"


class PortalSync:
    """Drains, rescoring, reconciliation and stage meanings of Uspacy portals."""

    _sync: RecordSync
    _tasks: TaskQueue
    outcomes: DealOutcomes

    def _counted(self, account_pk: int) -> AbstractContextManager[UspacyAccount]:
        raise NotImplementedError

    def account_pk(self, domain: str) -> int:
        raise NotImplementedError

    def installed_pks(self) -> list[int]:
        raise NotImplementedError

    def sync(self, account_pk: int) -> DrainResult:
        """Apply the portal's due inbox events (a worker task): records first,
        so they are scored when the stage moves that concern them are looked at."""
        with self._counted(account_pk) as crm:
            return self.outcomes.drain_with(self._sync, account_pk, crm)

    def settle(self, account_pk: int, rounds: int = 50) -> int:
        """Drain until nothing is due now; the events taken."""
        taken = 0
        for _ in range(rounds):
            result = self.sync(account_pk)
            taken += result.events
            if not result.events:
                break
        return taken

    def rescore(self, account_pk: int) -> int:
        """Rescore the portal from stored inputs; returns the records written."""
        with self._counted(account_pk) as crm:
            return self._sync.rescore(account_pk, crm)

    def weights_changed(self, account_pk: int) -> bool:
        """Whether the portal's weights moved since its records were scored."""
        return self._sync.weights_changed(account_pk)

    def reconcile_all(self) -> list[int]:
        """Start a walk over every lead and contact of each installed portal
        whose last walk finished (lost webhooks send no event)."""
        started = [pk for pk in self.installed_pks() if self._sync.start_walk(pk)]
        for account_pk in started:
            self._tasks.enqueue(BACKFILL_TASK, account_pk=account_pk)
        return started

    def set_stage_actions(
        self, domain: str, changes: dict[str, str | None]
    ) -> dict[str, str]:
        """Give deal or lead stages (by Uspacy stage id) another meaning as
        outcomes: converted, ignored or none (None: the stage's own SUCCESS /
        FAIL meaning). Applies to stage moves from now on."""
        return self.outcomes.set_stage_actions(self.account_pk(domain), changes)

    def set_mapping(self, domain: str, changes: dict[str, str | None]) -> dict:
        """Read lead fields of the portal's leads and contacts from other field
        codes (None: back to the default); every record is then read and
        scored again."""
        try:
            checked_overrides(changes)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        account_pk = self.account_pk(domain)
        current = self._sync.set_mapping(account_pk, changes)
        self._sync.restart_backfill(account_pk)
        self._tasks.enqueue(BACKFILL_TASK, account_pk=account_pk)
        return current

    def unfinished_setups(self) -> list[int]:
        raise NotImplementedError

    def pending_work(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The tasks the minute sweep queues: the setup of a portal whose setup
        failed, a drain per installed portal, and a rescore where its weights
        moved."""
        for account_pk in self.unfinished_setups():
            yield SETUP_TASK, {"account_pk": account_pk}
        for account_pk in self.installed_pks():
            yield SYNC_TASK, {"account_pk": account_pk}
            if self.weights_changed(account_pk):
                yield RESCORE_TASK, {"account_pk": account_pk}
