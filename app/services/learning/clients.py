"""Registering clients and issuing API keys; keys are shown once and stored hashed."""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import ApiKey, Client
from app.scoring import WeightsError, validate_weights
from app.scoring.weights import weights_mapping
from app.services.keys import hash_api_key, new_api_key, normalise_email


class ClientError(ValueError):
    """A client cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class IssuedClient:
    """A new client with the only copy of its API key that will ever be shown."""

    client_id: str
    email: str
    api_key: str


def add_api_key(session: Session, client: Client) -> str:
    """Attach a new key to a client (caller commits) and return it in clear."""
    api_key = new_api_key()
    session.add(
        ApiKey(client=client, key_hash=hash_api_key(api_key), prefix=api_key[:10])
    )
    return api_key


def register_client(
    session: Session, email: str, pinned: dict[str, float] | None = None
) -> tuple[Client, str]:
    """Add a client with a fresh API key (caller commits); returns the key in clear."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise ClientError(f"not an email address: {email!r}")
    client = Client(id="cl_" + secrets.token_hex(8), email=email, pinned_weights=pinned)
    session.add(client)
    return client, add_api_key(session, client)


def create_client(
    sessions: sessionmaker[Session],
    email: str,
    weights: Mapping[str, object] | None = None,
) -> IssuedClient:
    """Register a client by email, optionally pinned to custom weights."""
    email = normalise_email(email)
    try:
        pinned = None if weights is None else weights_mapping(validate_weights(weights))
    except WeightsError as error:
        raise ClientError(f"invalid weights: {error}") from None
    with sessions.begin() as session:
        exists = session.scalar(
            select(func.count()).select_from(Client).where(Client.email == email)
        )
        if exists:
            raise ClientError(f"a client with email {email} already exists")
        client, api_key = register_client(session, email, pinned)
    return IssuedClient(client_id=client.id, email=client.email, api_key=api_key)


def find_client_by_key(session: Session, api_key: str) -> Client | None:
    """The client owning an active key, or None."""
    return session.scalar(
        select(Client)
        .join(ApiKey)
        .where(ApiKey.key_hash == hash_api_key(api_key), ApiKey.revoked_at.is_(None))
    )
