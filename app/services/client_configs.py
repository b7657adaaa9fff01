"""What a scoring request needs about its client (identity, weights, ICP, label bands),
cached in process memory so a known client costs no database work per request."""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client
from app.scoring import (
    DEFAULT_BANDS,
    DEFAULT_WEIGHTS,
    IdealCustomerProfile,
    LabelBands,
    validate_weights,
)
from app.scoring.icp import NO_ICP
from app.services.clients import find_client_by_key, hash_api_key, normalise_email
from app.services.score_encoding import ScoreEncoder

log = logging.getLogger(__name__)

_DEFAULT_ORDERED = tuple(DEFAULT_WEIGHTS.values())
_UNKNOWN_KEY_TTL = 5.0  # seconds a rejected key is remembered, to spare the database
_UNKNOWN_KEY_LIMIT = 10_000


class ConfigUnavailableError(RuntimeError):
    """No cached copy and the store cannot be reached."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Everything needed to score leads for one client."""

    client_id: str
    email: str
    weights: tuple[float, ...]
    method: str
    version: int | None
    icp: IdealCustomerProfile
    bands: LabelBands
    encoder: ScoreEncoder

    def matches(self, identity: str) -> bool:
        """True when the request names this client, by id or by email."""
        return identity == self.client_id or normalise_email(identity) == self.email


def build_config(
    client_id: str,
    email: str,
    weights: tuple[float, ...],
    method: str,
    version: int | None = None,
    icp: IdealCustomerProfile = NO_ICP,
    bands: LabelBands = DEFAULT_BANDS,
) -> ClientConfig:
    """Assemble a ClientConfig with its response encoder."""
    return ClientConfig(
        client_id,
        email,
        weights,
        method,
        version,
        icp,
        bands,
        ScoreEncoder(weights, bands),
    )


def config_from_client(client: Client) -> ClientConfig:
    """The scoring configuration stored for a client."""
    if client.pinned_weights is not None:
        return build_config(
            client.id, client.email, validate_weights(client.pinned_weights), "custom"
        )
    return build_config(client.id, client.email, _DEFAULT_ORDERED, "default")


class ClientConfigCache:
    """API key -> ClientConfig, refreshed from the database after a TTL.

    When the database is unreachable an expired entry keeps serving: scoring must not
    stop because storage hiccups.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, ClientConfig]] = {}
        self._unknown: dict[str, float] = {}

    def for_api_key(self, api_key: str) -> ClientConfig | None:
        """The config of the client owning this key, or None for an unknown key."""
        digest = hash_api_key(api_key)
        now = self._clock()
        entry = self._entries.get(digest)
        if entry is not None and entry[0] > now:
            return entry[1]
        rejected_until = self._unknown.get(digest)
        if rejected_until is not None and rejected_until > now:
            return None
        try:
            config = self._load(api_key)
        except SQLAlchemyError as error:
            if entry is not None:
                log.warning(
                    "client store unreachable, serving cached config: %s", error
                )
                return entry[1]
            raise ConfigUnavailableError("client store unreachable") from error
        if config is None:
            if len(self._unknown) >= _UNKNOWN_KEY_LIMIT:
                self._unknown.clear()
            self._unknown[digest] = now + _UNKNOWN_KEY_TTL
            self._entries.pop(digest, None)
            return None
        self._entries[digest] = (now + self._ttl, config)
        return config

    def invalidate(self) -> None:
        """Forget every cached entry (after weights or keys change in this process)."""
        self._entries.clear()
        self._unknown.clear()

    def _load(self, api_key: str) -> ClientConfig | None:
        with self._sessions() as session:
            client = find_client_by_key(session, api_key)
            return None if client is None else config_from_client(client)
