"""The `state` of an install: signed, expiring and good for one callback.

The state carries a random nonce and the CRM it was issued for, signed with
SECRET_KEY, so issuing one stores nothing (an unauthenticated GET /install cannot
fill the database). The callback checks the signature and age, then records the
nonce; a second callback with the same state finds it recorded and is refused.
"""

import secrets
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.models.crm import UsedInstallState
from app.services.errors import InvalidInput

MAX_AGE = timedelta(minutes=30)


class InstallStates:
    """Issues and consumes install states."""

    def __init__(self, sessions: sessionmaker[Session], secret_key: str) -> None:
        self._sessions = sessions
        self._signer = URLSafeTimedSerializer(secret_key, salt="conturs.install-state")

    def issue(self, crm: str) -> str:
        """A new state for an install into `crm`."""
        return self._signer.dumps({"crm": crm, "nonce": secrets.token_urlsafe(24)})

    def consume(self, state: str, crm: str) -> None:
        """Accept `state` once; raise InvalidInput when it is forged, expired,
        for another CRM or already used."""
        try:
            payload = self._signer.loads(state, max_age=MAX_AGE.total_seconds())
        except SignatureExpired:
            raise InvalidInput(
                "The install link expired: start the install again"
            ) from None
        except BadSignature:
            raise InvalidInput("The install state is not valid") from None
        if not isinstance(payload, dict) or payload.get("crm") != crm:
            raise InvalidInput("The install state is not valid")
        nonce = str(payload.get("nonce", ""))[:64]
        try:
            with self._sessions.begin() as session:
                session.add(UsedInstallState(nonce=nonce))
        except IntegrityError:
            raise InvalidInput(
                "This install link was already used: start the install again"
            ) from None

    def forget_used(self, now: datetime) -> int:
        """Delete nonces older than MAX_AGE (their states are expired anyway)."""
        with self._sessions.begin() as session:
            return session.execute(
                delete(UsedInstallState).where(UsedInstallState.used_at < now - MAX_AGE)
            ).rowcount
