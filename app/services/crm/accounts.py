"""Installed CRM accounts as records: created or resumed on install, each one
client of the Config API; marked uninstalled; purged with every trace.

One client per (CRM, account): two portals installed by the same person learn
separately. The client's identity is `<crm>-<account>@<the installer's domain>`,
an address nobody reads: it keeps the domain, from which the profile starts
(industry, country), and never the installer's own address.
"""

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.crm.base import Installation
from app.crypto import SecretBox
from app.models import Client, LeadSnapshot, ScoreHistory
from app.models.crm import INSTALLED, NEEDS_REINSTALL, UNINSTALLED, CrmAccount
from app.services.crm.tokens import store_tokens
from app.services.learning.clients import register_client
from app.services.learning.profiles import update_stated_profile

# Where an installer's address has no usable domain (none given, or a free mail
# provider), the profile starts from nothing in particular.
_FALLBACK_DOMAIN = "crm.invalid"


def find_account(session: Session, crm: str, account_id: str) -> CrmAccount | None:
    """The account row, installed or not."""
    return session.scalars(
        select(CrmAccount).where(
            CrmAccount.crm == crm, CrmAccount.account_id == account_id
        )
    ).one_or_none()


def record_install(
    session: Session,
    crm: str,
    installation: Installation,
    box: SecretBox,
    now: datetime,
) -> tuple[CrmAccount, bool]:
    """Create the account and its client, or resume an existing one (its client,
    and so its learned weights, stay); returns (account, resumed). Caller commits."""
    account = find_account(session, crm, installation.account_id)
    resumed = account is not None
    if account is None:
        client, _key = register_client(
            session, _identity(crm, installation.account_id, installation.user_email)
        )
        session.flush()
        account = CrmAccount(
            crm=crm, account_id=installation.account_id, client_id=client.id
        )
        session.add(account)
    account.status = INSTALLED
    account.installed_at = now
    account.uninstalled_at = None
    account.last_error = None
    account.installed_by = installation.user_email
    account.scopes = " ".join(sorted(installation.tokens.scopes))
    store_tokens(account, installation.tokens, box)
    session.flush()
    return account, resumed


def mark_uninstalled(session: Session, account: CrmAccount, now: datetime) -> None:
    """Stop every call for the account: tokens deleted at once, data kept until
    the purge (a reinstall before then resumes). Caller commits."""
    if account.status == UNINSTALLED:
        return
    account.status = UNINSTALLED
    account.uninstalled_at = now
    _forget_tokens(account)


def mark_needs_reinstall(session: Session, account: CrmAccount) -> None:
    """Stop every call for an account whose CRM refused to refresh its tokens
    while the app stays installed there: its data is kept (no purge is due), and
    the next install resumes it. Caller commits."""
    if account.status != INSTALLED:
        return
    account.status = NEEDS_REINSTALL
    _forget_tokens(account)


def _forget_tokens(account: CrmAccount) -> None:
    account.access_token = None
    account.refresh_token = None
    account.token_expires_at = None
    account.refresh_lease = None
    account.refresh_lease_until = None
    account.token_version = (account.token_version or 0) + 1


def note_error(session: Session, account_pk: int, problem: str) -> None:
    """Keep the account's last problem for its status page. Caller commits."""
    account = session.get(CrmAccount, account_pk)
    if account is not None:
        account.last_error = problem[:2000]


def known_account_ids(session: Session, crm: str) -> list[str]:
    """Every known account of one CRM, installed or not, oldest first."""
    return list(
        session.scalars(
            select(CrmAccount.account_id)
            .where(CrmAccount.crm == crm)
            .order_by(CrmAccount.id)
        )
    )


def installed_pk(session: Session, crm: str, account_id: str) -> int | None:
    """The row id of an installed account, or None."""
    account = find_account(session, crm, account_id)
    return account.id if account is not None and account.status == INSTALLED else None


def installed_account_pks(session: Session, crm: str) -> list[int]:
    """Row ids of every installed account of one CRM."""
    return list(
        session.scalars(
            select(CrmAccount.id).where(
                CrmAccount.crm == crm, CrmAccount.status == INSTALLED
            )
        )
    )


def purge_uninstalled(session: Session, crm: str, cutoff: datetime) -> list[str]:
    """Purge the CRM's accounts uninstalled before `cutoff`; their ids. Caller
    commits."""
    purged = []
    for account in session.scalars(
        select(CrmAccount).where(
            CrmAccount.crm == crm,
            CrmAccount.status == UNINSTALLED,
            CrmAccount.uninstalled_at < cutoff,
        )
    ):
        purged.append(account.account_id)
        purge_account(session, account)
    return purged


def purge_account(session: Session, account: CrmAccount) -> None:
    """Delete the account and every trace of it: its client (keys, weights,
    feedback), score history and snapshots. Caller commits."""
    client_id = account.client_id
    session.execute(delete(ScoreHistory).where(ScoreHistory.client_id == client_id))
    session.execute(delete(LeadSnapshot).where(LeadSnapshot.client_id == client_id))
    # The database cascades the client's keys, weights, feedback and accounts.
    session.execute(delete(CrmAccount).where(CrmAccount.id == account.id))
    session.execute(delete(Client).where(Client.id == client_id))
    session.expunge(account)


def state_profile(
    session: Session, account: CrmAccount, changes: dict[str, object]
) -> None:
    """Apply what the account's owner states (industry, size, ICP); caller commits."""
    client = session.get(Client, account.client_id)
    if client is not None:
        update_stated_profile(client, changes)


def _identity(crm: str, account_id: str, user_email: str | None) -> str:
    domain = (user_email or "").rpartition("@")[2].strip().lower().rstrip(".")
    if not domain or "." not in domain:
        domain = _FALLBACK_DOMAIN
    local = "".join(
        c for c in f"{crm}-{account_id}".lower() if c.isalnum() or c in "-."
    )
    return f"{local[:64]}@{domain}"
