"""Registering clients and issuing, rotating and revoking their API keys; keys are
shown once and stored hashed."""

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.models import ApiKey, Client
from app.models.base import utcnow
from app.scoring import WeightsError, validate_weights
from app.scoring.weights import weights_mapping
from app.services.errors import InvalidInput, NotFound
from app.services.keys import hash_api_key, new_api_key
from app.services.learning.emails import canonical_email


class ClientError(ValueError):
    """A client cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class IssuedClient:
    """A new client with the only copy of its API key that will ever be shown."""

    client_id: str
    email: str
    api_key: str


@dataclass(frozen=True)
class RotatedKey:
    """A client's new key (its only copy) and when its former keys stop working."""

    client_id: str
    api_key: str
    prefix: str
    old_prefixes: list[str]
    old_keys_end_at: datetime


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a stored key: never the key itself."""

    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def add_api_key(session: Session, client: Client, api_key: str | None = None) -> str:
    """Attach a key (a new one unless given) to a client (caller commits) and return
    it in clear."""
    api_key = api_key or new_api_key()
    session.add(
        ApiKey(client=client, key_hash=hash_api_key(api_key), prefix=api_key[:10])
    )
    return api_key


def register_client(
    session: Session,
    email: str,
    pinned: dict[str, float] | None = None,
    api_key: str | None = None,
) -> tuple[Client, str]:
    """Add a client with an API key (caller commits); returns the key in clear."""
    client = Client(
        id="cl_" + secrets.token_hex(8), email=_canonical(email), pinned_weights=pinned
    )
    session.add(client)
    return client, add_api_key(session, client, api_key)


def create_client(
    sessions: sessionmaker[Session],
    email: str,
    weights: Mapping[str, object] | None = None,
) -> IssuedClient:
    """Register a client by email, optionally pinned to custom weights."""
    email = _canonical(email)
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
    """The client owning a key that is not revoked (or whose revocation, set by a
    rotation with a grace period, is still ahead), or None."""
    return session.scalar(
        select(Client)
        .join(ApiKey)
        .where(ApiKey.key_hash == hash_api_key(api_key), _active(utcnow()))
    )


def rotate_api_key(
    sessions: sessionmaker[Session], client_id: str, grace_seconds: int = 0
) -> RotatedKey:
    """Issue a client a new key and end its other keys after `grace_seconds`, so a
    leaked or lost key can be replaced without downtime."""
    if grace_seconds < 0:
        raise InvalidInput("grace seconds cannot be negative")
    now = utcnow()
    ends_at = now + timedelta(seconds=grace_seconds)
    with sessions.begin() as session:
        client = _client(session, client_id)
        old = _active_keys(session, client_id, now)
        for key in old:  # a grace period already running is never lengthened
            key.revoked_at = min(key.revoked_at or ends_at, ends_at)
        api_key = add_api_key(session, client)
    return RotatedKey(
        client_id=client_id,
        api_key=api_key,
        prefix=api_key[:10],
        old_prefixes=[key.prefix for key in old],
        old_keys_end_at=ends_at,
    )


def revoke_api_keys(
    sessions: sessionmaker[Session], client_id: str, prefix: str | None = None
) -> list[str]:
    """Revoke a client's key by its stored prefix, or all its keys when no prefix is
    given; returns the revoked prefixes."""
    now = utcnow()
    with sessions.begin() as session:
        _client(session, client_id)
        keys = [
            key
            for key in _active_keys(session, client_id, now)
            if prefix is None or key.prefix == prefix
        ]
        if prefix is not None and not keys:
            raise NotFound(f"client {client_id} has no active key with prefix {prefix}")
        for key in keys:
            key.revoked_at = now
    return [key.prefix for key in keys]


def list_api_keys(sessions: sessionmaker[Session], client_id: str) -> list[KeyInfo]:
    """A client's keys, oldest first, so an operator can tell which one to revoke."""
    with sessions() as session:
        _client(session, client_id)
        keys = session.scalars(
            select(ApiKey)
            .where(ApiKey.client_id == client_id)
            .order_by(ApiKey.created_at, ApiKey.id)
        )
        return [KeyInfo(key.prefix, key.created_at, key.revoked_at) for key in keys]


def _canonical(email: str) -> str:
    try:
        return canonical_email(email)
    except InvalidInput as error:
        raise ClientError(error.message) from None


def _client(session: Session, client_id: str) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    return client


def _active(now: datetime) -> ColumnElement[bool]:
    return or_(ApiKey.revoked_at.is_(None), ApiKey.revoked_at > now)


def _active_keys(session: Session, client_id: str, now: datetime) -> list[ApiKey]:
    return list(
        session.scalars(
            select(ApiKey)
            .where(ApiKey.client_id == client_id, _active(now))
            .order_by(ApiKey.id)
        )
    )
