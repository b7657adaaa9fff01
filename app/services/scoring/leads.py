"""The POST /leads use case: authenticate, score a batch, encode the response.

This is the hot path. It works on the decoded JSON directly, keeps per-client work
in the cached ClientConfig, and encodes through cached byte fragments.
"""

import time
from collections.abc import Callable

import orjson

from app.scoring import LeadFieldError, compute_score
from app.scoring.engine import read_lead
from app.services.scoring.configs import ClientConfigCache, ConfigUnavailableError
from app.services.scoring.encoding import encode_response
from app.services.scoring.recorder import SnapshotRecorder


class ScoringRequestError(Exception):
    """A request that cannot be scored: carries the HTTP status and the message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LeadScoringService:
    """Scores batches of leads for authenticated clients."""

    def __init__(
        self,
        configs: ClientConfigCache,
        max_leads: int,
        snapshots: SnapshotRecorder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._configs = configs
        self._snapshots = snapshots
        self._max_leads = max_leads
        self._clock = clock

    def score_body(self, body: bytes) -> bytes:
        """Score a raw request body and return the response body."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as error:
            raise ScoringRequestError(400, f"Invalid request body: {error}") from None
        if type(payload) is not dict:
            raise ScoringRequestError(
                400, "Invalid request body: expected a JSON object"
            )
        api_key = payload.get("api_key")
        email = payload.get("email")
        if not (type(api_key) is str and api_key and type(email) is str and email):
            raise ScoringRequestError(401, "api_key and email required")
        leads = payload.get("leads")
        if not leads:
            raise ScoringRequestError(400, "No leads provided")
        if type(leads) is not list:
            raise ScoringRequestError(
                400, "Invalid request body: leads must be an array"
            )
        if len(leads) > self._max_leads:
            raise ScoringRequestError(
                413,
                f"Too many leads: {len(leads)} in one request, "
                f"the limit is {self._max_leads}",
            )
        client_id = payload.get("client_id")
        if client_id is not None and type(client_id) is not str:
            raise ScoringRequestError(
                400, "Invalid request body: client_id must be a string"
            )

        try:
            config = self._configs.for_api_key(api_key, client_id or email)
        except ConfigUnavailableError:
            raise ScoringRequestError(
                503,
                "Scoring is temporarily unavailable: the client store cannot be "
                "reached and this client's configuration is not cached",
            ) from None
        if config is None or not config.matches(client_id or email):
            raise ScoringRequestError(401, "Invalid API key")

        now = self._clock()
        icp = config.icp
        weights = config.weights
        encode = config.encoder.lead
        encoded = []
        scored = []
        for index, lead in enumerate(leads):
            if type(lead) is not dict:
                raise ScoringRequestError(400, f"leads[{index}] must be an object")
            try:
                lead_email, values = read_lead(lead, now, icp)
            except LeadFieldError as error:
                raise ScoringRequestError(400, f"leads[{index}].{error}") from None
            score = compute_score(values, weights)
            encoded.append(encode(lead_email, score, values))
            if lead_email:
                scored.append((lead_email, values))
        if self._snapshots is not None and scored:
            self._snapshots.record(config.client_id, scored)
        return encode_response(encoded, config.method, config.client_id, config.version)
