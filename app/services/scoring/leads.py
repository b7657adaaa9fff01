"""Scoring leads for a client: authenticate, score a batch, remember, encode.

This is the hot path. It works on decoded JSON mappings directly (no per-lead model
objects), keeps per-client work in the cached ClientConfig, and encodes through
cached byte fragments. Callers compose the steps: POST /leads authenticates by API
key and remembers its scores best effort; a CRM worker scores with the account's
config and writes history together with its CRM write.
"""

import time
from collections.abc import Callable, Sequence
from typing import Any

from app.scoring import LeadFieldError
from app.scoring.engine import read_lead
from app.services.errors import InvalidInput, NotAuthenticated, Unavailable
from app.services.scoring.configs import (
    ClientConfig,
    ClientConfigCache,
    ConfigUnavailableError,
)
from app.services.scoring.encoding import encode_response
from app.services.scoring.recorder import ScoreRecorder

# (lead email or "", score, the ten factor values)
Scored = tuple[str, int, Sequence[float]]

UNAVAILABLE_MESSAGE = (
    "Scoring is temporarily unavailable: the client store cannot be reached and "
    "this client's configuration is not cached"
)


class LeadScoring:
    """Scores batches of leads for authenticated clients."""

    def __init__(
        self,
        configs: ClientConfigCache,
        recorder: ScoreRecorder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._configs = configs
        self._recorder = recorder
        self.clock = clock

    def authenticate(self, api_key: str, identity: str) -> ClientConfig:
        """The config of the client that owns `api_key` and is named by `identity`
        (its id or email)."""
        try:
            config = self._configs.for_api_key(api_key, identity)
        except ConfigUnavailableError:
            raise Unavailable(UNAVAILABLE_MESSAGE) from None
        if config is None or not config.matches(identity):
            raise NotAuthenticated("Invalid API key")
        return config

    def score_batch(
        self, config: ClientConfig, leads: Sequence[Any], now: float
    ) -> list[Scored]:
        """Score every lead; the first unreadable one fails the batch, by index."""
        icp = config.icp
        score = config.score
        scored: list[Scored] = []
        append = scored.append
        for index, lead in enumerate(leads):
            if type(lead) is not dict:
                raise InvalidInput(f"leads[{index}] must be an object")
            try:
                lead_email, values = read_lead(lead, now, icp)
            except LeadFieldError as error:
                raise InvalidInput(f"leads[{index}].{error}") from None
            append((lead_email, score(values), values))
        return scored

    def remember(
        self, config: ClientConfig, scored: Sequence[Scored], now: float
    ) -> None:
        """Keep what API leads scored (best effort, off the request's path), so
        outcomes reported later find the values from before them."""
        if self._recorder is not None and scored:
            self._recorder.record(config, scored, now)

    @staticmethod
    def encode(config: ClientConfig, scored: Sequence[Scored]) -> bytes:
        """The POST /leads response body."""
        lead = config.encoder.lead
        return encode_response(
            [lead(email, score, values) for email, score, values in scored],
            config.method,
            config.client_id,
            config.version,
        )
