"""Rescoring an account's records from their stored inputs, without reading the
CRM: daily, because recency decays with the calendar, and at once when the
account's weights change (a new published version). Only records whose score,
label, top factors or explanation move are written.
"""

from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.crm.base import CrmAccount, CrmContact, RecordRef, StoredScore
from app.models import Client
from app.models.crm import CrmAccount as AccountRow
from app.models.sync import CrmRecord, CrmSync
from app.services.crm.scorer import ContactScoring, fingerprint_of
from app.services.scoring.configs import config_of

BATCH = 100


class Rescoring(ContactScoring):
    """Rescoring from stored inputs (a base of RecordSync)."""

    def rescore(self, account_pk: int, crm: CrmAccount) -> int:
        """Rescore every record of the account; returns how many were written."""
        written = 0
        for contacts in self._stored_batches(account_pk):
            written += self._score_and_write(account_pk, crm, contacts, [])[0]
        with self._sessions.begin() as session:
            state = session.get(CrmSync, account_pk)
            if state is None:
                state = CrmSync(account_pk=account_pk, backfill_done=0, mapping={})
                session.add(state)
            state.last_rescored_at = self._clock()
        return written

    def weights_changed(self, account_pk: int) -> bool:
        """Whether some record was scored with other weights than the published."""
        with self._sessions() as session:
            account = session.get(AccountRow, account_pk)
            client = session.get(Client, account.client_id) if account else None
            if client is None:
                return False
            current = fingerprint_of(config_of(session, client))
            query = select(CrmRecord.record_id).where(
                CrmRecord.account_pk == account_pk,
                or_(CrmRecord.scored_with.is_(None), CrmRecord.scored_with != current),
            )
            return session.scalars(query.limit(1)).first() is not None

    def last_rescored(self, account_pk: int) -> datetime | None:
        """When the account was last rescored from stored inputs."""
        with self._sessions() as session:
            state = session.get(CrmSync, account_pk)
            return state.last_rescored_at if state else None

    def _stored_batches(self, account_pk: int) -> Iterator[list[CrmContact]]:
        after = ""
        while True:
            with self._sessions() as session:
                records = _page(session, account_pk, after)
            if not records:
                return
            after = records[-1].record_id
            yield [_as_contact(record) for record in records]


def _page(session: Session, account_pk: int, after: str) -> list[CrmRecord]:
    return list(
        session.scalars(
            select(CrmRecord)
            .where(CrmRecord.account_pk == account_pk, CrmRecord.record_id > after)
            .order_by(CrmRecord.record_id)
            .limit(BATCH)
        )
    )


def _as_contact(record: CrmRecord) -> CrmContact:
    """A record as if read from the CRM, holding what was last written to it."""
    return CrmContact(
        ref=RecordRef(record.object_type, record.record_id),
        lead=dict(record.lead),
        stored=StoredScore(
            score=record.score,
            label=(record.label or "").removesuffix(" Lead") or None,
            top_factors=record.top_factors,
            explanation=record.explanation,
            method=None,
            scored_at=record.scored_at,
        ),
        company_id=record.company_id,
        updated_at=None,
    )
