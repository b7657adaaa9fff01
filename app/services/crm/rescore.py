"""Rescoring an account's records from their stored inputs, without reading the
CRM: daily, because recency decays with the calendar, and at once when the
account's weights change (a new published version). Only records whose score,
label, top factors or explanation move are written.
"""

from collections.abc import Iterator

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from app.crm.base import CrmAccount, CrmContact, RecordRef, StoredScore
from app.models.sync import CrmRecord
from app.services.crm.scorer import ContactScoring, fingerprint_of, sync_state

BATCH = 100


class Rescoring(ContactScoring):
    """Rescoring from stored inputs (a base of RecordSync)."""

    def rescore(self, account_pk: int, crm: CrmAccount) -> int:
        """Rescore every record of the account; returns how many were written."""
        written = 0
        for contacts in self._stored_batches(account_pk):
            written += self._score_and_write(
                account_pk, crm, contacts, [], read_now=False
            )[0]
        with self._sessions.begin() as session:
            sync_state(session, account_pk).last_rescored_at = self._clock()
        return written

    def weights_changed(self, account_pk: int) -> bool:
        """Whether some record was scored with other weights than the published."""
        try:
            _account, config = self._account_config(account_pk)
        except LookupError:
            return False
        current = fingerprint_of(config)
        with self._sessions() as session:
            query = select(CrmRecord.record_id).where(
                CrmRecord.account_pk == account_pk,
                or_(CrmRecord.scored_with.is_(None), CrmRecord.scored_with != current),
            )
            return session.scalars(query.limit(1)).first() is not None

    def _stored_batches(self, account_pk: int) -> Iterator[list[CrmContact]]:
        after = ("", "")
        while True:
            with self._sessions() as session:
                records = _page(session, account_pk, after)
            if not records:
                return
            after = (records[-1].record_id, records[-1].object_type)
            yield [_as_contact(record) for record in records]


def _page(session: Session, account_pk: int, after: tuple[str, str]) -> list[CrmRecord]:
    """The next batch in (record id, object type) order: records of two types
    may share an id."""
    record_id, object_type = after
    return list(
        session.scalars(
            select(CrmRecord)
            .where(
                CrmRecord.account_pk == account_pk,
                or_(
                    CrmRecord.record_id > record_id,
                    and_(
                        CrmRecord.record_id == record_id,
                        CrmRecord.object_type > object_type,
                    ),
                ),
            )
            .order_by(CrmRecord.record_id, CrmRecord.object_type)
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
