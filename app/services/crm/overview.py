"""What an operator sees of a CRM account besides its sync progress: the weights
its client is served now and the outcomes recorded for that client, by action;
and the one count of contacts we hold a score for (sync status shows it).

The weights are resolved the way scoring resolves them (`config_of`), so the
method and version shown are the ones the account's records are scored with.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import Client, CrmAccount, CrmRecord, Feedback
from app.personalization.outcomes import REWARDS
from app.services.scoring.configs import config_of


def account_overview(session: Session, account: CrmAccount) -> dict[str, object]:
    """Served weights and feedback counts of one account."""
    client = session.get(Client, account.client_id)
    weights: dict[str, object] = {"method": None, "version": None}
    if client is not None:
        served = config_of(session, client)
        weights = {"method": served.method, "version": served.version}
    return {
        "weights": weights,
        "feedback": feedback_counts(session, account.client_id),
    }


def contacts_scored(session: Session, account_pk: int) -> int:
    """Contacts of the account we hold a score for now."""
    return (
        session.scalar(
            select(func.count())
            .select_from(CrmRecord)
            .where(
                CrmRecord.account_pk == account_pk,
                CrmRecord.object_type == "contacts",
                CrmRecord.score.is_not(None),
            )
        )
        or 0
    )


def feedback_counts(session: Session, client_id: str) -> dict[str, int]:
    """Recorded outcomes of the client per action; every action, 0 when none."""
    counted = dict(
        session.execute(
            select(Feedback.action, func.count())
            .where(Feedback.client_id == client_id)
            .group_by(Feedback.action)
        ).all()
    )
    return {action: int(counted.get(action, 0)) for action in REWARDS}
