"""Client configurations from a central Config API (CONFIG_API_URL), for a
self-hosted scoring service.

Weights are fetched on a client's first request and kept in the database and in
memory; when the Config API is down the stored copy keeps serving, and a client
never seen before is scored with the default weights (method "default").
"""

import logging
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from app.config_client import ConfigApiClient, ConfigApiUnreachable
from app.models import CachedConfig
from app.models.base import utcnow
from app.personalization.bands import bands_from_json
from app.personalization.profile import (
    ClientProfile,
    normalise_icp_industries,
    normalise_size,
)
from app.scoring import (
    DEFAULT_BANDS,
    DEFAULT_WEIGHTS,
    ValueTables,
    WeightsError,
    validate_weights,
)
from app.services.keys import hash_api_key, normalise_email
from app.services.scoring.configs import (
    ClientConfig,
    ConfigUnavailableError,
    build_config,
)

log = logging.getLogger(__name__)


class RemoteConfigSource:
    """Loads configurations from the Config API, remembering the last good answer."""

    def __init__(self, api: ConfigApiClient, sessions: sessionmaker[Session]) -> None:
        self._api = api
        self._sessions = sessions

    def load(self, api_key: str, identity: str) -> ClientConfig | None:
        try:
            payload = self._api.fetch_config(api_key, identity)
        except ConfigApiUnreachable as error:
            raise ConfigUnavailableError(str(error)) from None
        if payload is None:
            self._forget(api_key)  # a revoked key must not live on in the copy
            return None
        try:
            config = _config_from_payload(payload, identity)
        except (ValueError, KeyError, TypeError, WeightsError) as error:
            raise ConfigUnavailableError(
                f"Config API sent a bad config: {error}"
            ) from None
        self._store(api_key, config, payload)
        return config

    def stored(self, api_key: str, identity: str) -> ClientConfig | None:
        try:
            with self._sessions() as session:
                copy = session.get(CachedConfig, hash_api_key(api_key))
        except SQLAlchemyError:
            return None
        if copy is not None and (
            identity == copy.client_id or normalise_email(identity) == copy.email
        ):
            return _config_from_payload(copy.payload, copy.email)
        return None

    def fallback(self, api_key: str, identity: str) -> ClientConfig | None:
        # Never seen (or another identity): score, but with the baseline weights.
        return build_config(
            identity,
            normalise_email(identity),
            tuple(DEFAULT_WEIGHTS.values()),
            "default",
        )

    def _forget(self, api_key: str) -> None:
        try:
            with self._sessions.begin() as session:
                session.execute(
                    delete(CachedConfig).where(
                        CachedConfig.key_hash == hash_api_key(api_key)
                    )
                )
        except SQLAlchemyError:
            log.exception("could not drop the stored config of a refused key")

    def _store(self, api_key: str, config: ClientConfig, payload: dict) -> None:
        try:
            with self._sessions.begin() as session:
                session.merge(
                    CachedConfig(
                        key_hash=hash_api_key(api_key),
                        client_id=config.client_id,
                        email=config.email,
                        payload=payload,
                        fetched_at=utcnow(),
                    )
                )
        except SQLAlchemyError:
            log.exception("could not store the fetched config")


def _config_from_payload(payload: dict[str, Any], identity: str) -> ClientConfig:
    profile = payload.get("profile") or {}
    email = normalise_email(payload.get("email") or identity)
    sizes = profile.get("icp_company_sizes")
    icp = ClientProfile(
        icp_industries=normalise_icp_industries(profile.get("icp_industries") or []),
        icp_size_range=normalise_size(sizes) if sizes else None,
    ).to_icp()
    return build_config(
        payload["client_id"],
        email,
        validate_weights(payload["weights"]),
        payload["method"],
        payload.get("version"),
        icp,
        # An older Config API sends no bands: its clients are labelled 80/60/40.
        bands_from_json(payload["bands"]) if "bands" in payload else DEFAULT_BANDS,
        # Nor value tables: every factor keeps the seed's value.
        ValueTables.from_json(payload.get("value_tables") or {}),
    )
