"""What a scoring request needs about its client (identity, weights, ICP, label bands),
cached in process memory so a known client costs no database or network work.

Where the configuration comes from is a source: the local database (embedded and
central deployments) or a remote Config API (self-hosted scoring, CONFIG_API_URL).
"""

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.models import Client
from app.scoring import (
    DEFAULT_BANDS,
    IDENTITY,
    IdealCustomerProfile,
    LabelBands,
    ValueTables,
    compute_score,
    validate_weights,
)
from app.scoring.icp import NO_ICP
from app.services.keys import hash_api_key
from app.services.learning.bands import served_bands
from app.services.learning.clients import find_client_by_key
from app.services.learning.emails import same_email
from app.services.learning.profiles import profile_of
from app.services.learning.tables import served_tables
from app.services.learning.weights import current_weights, latest_version
from app.services.scoring.encoding import ScoreEncoder

log = logging.getLogger(__name__)

_UNKNOWN_KEY_TTL = 5.0  # seconds a rejected key is remembered, to spare the store
# Rejected (key, identity) pairs are remembered by one 32-byte digest each, never
# by what the caller sent, so the cache's size is this many small entries (~1.5 MB)
# whatever the requests hold.
_UNKNOWN_KEY_LIMIT = 10_000
_RETRY_UNREACHABLE = 30.0  # seconds between refresh attempts while a source is down


class ConfigUnavailableError(RuntimeError):
    """The configuration store cannot be reached."""


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
    tables: ValueTables = IDENTITY

    def score(self, seed_values: Sequence[float]) -> int:
        """The 0-100 score of a lead's seed factor values under this client's
        weights and value tables."""
        return compute_score(self.tables.apply(seed_values), self.weights)

    def matches(self, identity: str) -> bool:
        """True when the request names this client, by id or by email."""
        return identity == self.client_id or same_email(identity, self.email)


def build_config(
    client_id: str,
    email: str,
    weights: tuple[float, ...],
    method: str,
    version: int | None = None,
    icp: IdealCustomerProfile = NO_ICP,
    bands: LabelBands = DEFAULT_BANDS,
    tables: ValueTables = IDENTITY,
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
        ScoreEncoder(weights, bands, tables),
        tables,
    )


def config_of(session: Session, client: Client) -> ClientConfig:
    """The configuration a client scores with now (its published weights)."""
    published = current_weights(session, client)
    latest = latest_version(session, client.id)
    return build_config(
        client.id,
        client.email,
        validate_weights(published.weights),
        published.method,
        published.version,
        profile_of(client).to_icp(),
        served_bands(client, latest),
        served_tables(client, latest),
    )


class ConfigSource(Protocol):
    """Where client configurations come from."""

    def load(self, api_key: str, identity: str) -> ClientConfig | None:
        """The config for a valid key, None for an invalid one; raises
        ConfigUnavailableError when the source cannot answer."""

    def stored(self, api_key: str, identity: str) -> ClientConfig | None:
        """A previously fetched copy that can serve at once, if the source keeps one."""

    def fallback(self, api_key: str, identity: str) -> ClientConfig | None:
        """What to serve when the source cannot answer and no copy exists."""


class LocalConfigSource:
    """Configurations from this deployment's own database."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, api_key: str, identity: str) -> ClientConfig | None:
        try:
            with self._sessions() as session:
                client = find_client_by_key(session, api_key)
                return None if client is None else config_of(session, client)
        except SQLAlchemyError as error:
            raise ConfigUnavailableError(str(error)) from error

    def stored(self, api_key: str, identity: str) -> ClientConfig | None:
        return None  # the database is the source itself

    def fallback(self, api_key: str, identity: str) -> ClientConfig | None:
        return None  # without the database the key cannot be checked


class ClientConfigCache:
    """API key -> ClientConfig in process memory, refreshed after a TTL.

    Stale-while-revalidate: an expired entry keeps serving while a background thread
    refreshes it, so scoring never waits on the network when a copy exists; a source
    that is down leaves the copy in place. With no copy at all, the first request
    loads synchronously, and the source's fallback answers when it cannot.
    """

    def __init__(
        self,
        source: ConfigSource,
        ttl_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[str, tuple[float, ClientConfig]] = {}
        # digest of (key, identity) -> rejected until; oldest first
        self._unknown: dict[bytes, float] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()

    def for_api_key(self, api_key: str, identity: str) -> ClientConfig | None:
        """The config of the client owning this key, or None for an unknown key.

        Raises ConfigUnavailableError when nothing at all can be served.
        """
        digest = hash_api_key(api_key)
        now = self._clock()
        entry = self._entries.get(digest)
        if entry is not None and entry[1].matches(identity):
            if entry[0] <= now:
                self._refresh_in_background(api_key, identity, digest)
            return entry[1]
        rejection = _rejection_key(digest, identity)
        rejected_until = self._unknown.get(rejection)
        if rejected_until is not None and rejected_until > now:
            return None
        stored = self._source.stored(api_key, identity)
        if stored is not None:
            self._entries[digest] = (now, stored)  # already due for a refresh
            self._refresh_in_background(api_key, identity, digest)
            return stored
        try:
            config = self._source.load(api_key, identity)
        except ConfigUnavailableError:
            config = self._source.fallback(api_key, identity)
            if config is None:
                raise
            return config
        if config is None:
            self._remember_rejection(rejection, now + _UNKNOWN_KEY_TTL)
            return None
        self._entries[digest] = (now + self._ttl, config)
        return config

    def invalidate(self) -> None:
        """Forget every cached entry (after weights or keys change in this process)."""
        self._entries.clear()
        self._unknown.clear()

    def _remember_rejection(self, rejection: bytes, until: float) -> None:
        unknown = self._unknown
        unknown.pop(rejection, None)  # re-inserted as the newest
        while len(unknown) >= _UNKNOWN_KEY_LIMIT:
            try:  # the oldest goes; another thread may have taken it already
                del unknown[next(iter(unknown))]
            except (KeyError, RuntimeError, StopIteration):
                break
        unknown[rejection] = until

    def _refresh_in_background(self, api_key: str, identity: str, digest: str) -> None:
        with self._lock:
            if digest in self._refreshing:
                return
            self._refreshing.add(digest)
        threading.Thread(
            target=self._refresh,
            args=(api_key, identity, digest),
            name="config-refresh",
            daemon=True,
        ).start()

    def _refresh(self, api_key: str, identity: str, digest: str) -> None:
        try:
            config = self._source.load(api_key, identity)
        except ConfigUnavailableError as error:
            log.warning("config source unreachable, serving the cached copy: %s", error)
            stale = self._entries.get(digest)
            if stale is not None:  # try again after a short pause, not every request
                retry = self._clock() + min(self._ttl, _RETRY_UNREACHABLE)
                self._entries[digest] = (retry, stale[1])
        except Exception:  # a refresh must never take the serving copy down
            log.exception("config refresh failed")
        else:
            if config is None:  # the key was revoked
                self._entries.pop(digest, None)
            else:
                self._entries[digest] = (self._clock() + self._ttl, config)
        finally:
            with self._lock:
                self._refreshing.discard(digest)


def _rejection_key(key_digest: str, identity: str) -> bytes:
    """A fixed-size key for a rejected (API key, identity) pair."""
    return hashlib.sha256(
        b"%s\0%s" % (key_digest.encode(), identity.encode("utf-8", "surrogatepass"))
    ).digest()
