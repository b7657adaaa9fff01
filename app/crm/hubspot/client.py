"""`HubSpotAccount`: the `CrmAccount` of one installed HubSpot portal, on the
official hubspot-api-client 12 (CRM v3 objects, properties, pipelines) and
`requests` for the app-install endpoint the SDK does not know. Contacts read
lacking industry or size get their primary company's (`companies.py`).

Batches hold at most 100 records per call. Every HTTP call takes one call from
the portal's budget (`app.crm.ratelimit`), is retried on 429, 5xx and timeouts
by the config's `call_retry` (`app.crm.retry`), and once more after a token
refresh; each attempt's outcome goes to `on_call`.

The services pass the portal's budget (`RateLimiter.for_account(hub_id)`, shared
through Redis at scale). Without one, calls are paced by a limiter of this
process, one budget per AccessTokens object: the services keep one of those per
portal, so that is one budget per portal and process.
"""

import itertools
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from hubspot.crm.contacts import (
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectId,
)

from app.crm.base import (
    AccessRevoked,
    AccessTokens,
    CrmContact,
    Deal,
    FieldSetup,
    RecordPage,
    RecordRef,
    ScoreWrite,
    WriteFailure,
)
from app.crm.hubspot import errors, fields, mapping, paths
from app.crm.hubspot.companies import CompanyCache, PrimaryCompanies
from app.crm.hubspot.config import RATES, HubSpotConfig
from app.crm.hubspot.deals import StageBook
from app.crm.hubspot.sdk import AccountApis
from app.crm.hubspot.writes import send_scores
from app.crm.ratelimit import AccountLimit, RateLimiter
from app.crm.retry import OnCall

BATCH_LIMIT = 100
MAX_CURSOR_CHARS = 1000
MAX_DEAL_CONTACTS = 1000
DEAL_PROPERTIES = ["dealstage", "pipeline", "closedate"]


class HubSpotAccount:
    """One HubSpot portal, reached with the tokens the services keep for it."""

    scored_types: tuple[str, ...] = ("contacts",)

    def __init__(
        self,
        config: HubSpotConfig,
        tokens: AccessTokens,
        limiter: AccountLimit | None = None,
        on_call: OnCall | None = None,
        mapping_overrides: dict[str, str] | None = None,
        stages: StageBook | None = None,
        companies: CompanyCache | None = None,
        read_companies: bool = False,
    ) -> None:
        # Lead field -> the portal's property to read it from, instead of ours.
        self._overrides = dict(mapping_overrides or {})
        self._properties = sorted(
            {*mapping.MAPPED_PROPERTIES, *self._overrides.values()}
        )
        self._base = config.api_base_url
        self._timeout = config.timeout_seconds
        self._apis = AccountApis(
            tokens,
            self._base,
            self._timeout,
            pacer=limiter or _process_budget(tokens),
            retry=config.call_retry,
            on_call=on_call,
        )
        # Industry and size from contacts' primary companies, through the cache
        # the services keep per portal; only when the portal granted the scope.
        self._companies = PrimaryCompanies(self._apis, companies, read_companies)
        # The services keep one book per portal across adapters (and so across
        # tasks): the pipelines are fetched once, and again on an unknown stage.
        self._stages = stages if stages is not None else StageBook()

    def _contact(self, record: Any) -> CrmContact | None:
        return _contact(record, self._overrides)

    def close(self) -> None:
        """Release the connection pools."""
        self._apis.close()

    def ensure_fields(self) -> FieldSetup:
        """The `conturs` group and our six contact properties, where missing."""
        return fields.ensure_fields(self._apis)

    def read_contacts(self, refs: Sequence[RecordRef]) -> list[CrmContact]:
        """Contacts by id, 100 per call; ids HubSpot does not have are left out."""
        ids = _contact_ids(refs)
        contacts: list[CrmContact | None] = []
        for start in range(0, len(ids), BATCH_LIMIT):
            body = BatchReadInputSimplePublicObjectId(
                inputs=[
                    SimplePublicObjectId(id=i) for i in ids[start : start + BATCH_LIMIT]
                ],
                properties=self._properties,
                properties_with_history=[],
            )
            # A 207 lists the ids that do not exist; they are simply not returned.
            answer, _ = self._apis.call(
                "contacts_batch",
                "read",
                batch_read_input_simple_public_object_id=body,
                archived=False,
            )
            contacts += [self._contact(record) for record in answer.results or []]
        return self._companies.fill([c for c in contacts if c is not None])

    def list_contacts(
        self, object_type: str, cursor: str | None, limit: int = 100
    ) -> RecordPage:
        """One page of all contacts in id order; pass `next_cursor` back."""
        if object_type != paths.CONTACTS:
            raise ValueError(f"HubSpot lists contacts only, not {object_type!r}")
        if cursor is not None and not 0 < len(cursor) <= MAX_CURSOR_CHARS:
            raise ValueError("cursor must be a paging cursor HubSpot returned")
        page, _ = self._apis.call(
            "contacts_basic",
            "get_page",
            limit=min(max(int(limit), 1), BATCH_LIMIT),
            after=cursor,
            properties=self._properties,
            archived=False,
        )
        contacts = [self._contact(record) for record in page.results or []]
        following = getattr(getattr(page.paging, "next", None), "after", None)
        return RecordPage(
            contacts=self._companies.fill(
                [contact for contact in contacts if contact is not None], listing=True
            ),
            next_cursor=str(following) if following else None,
        )

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteFailure]:
        """Write scores, 100 records per call; the records that were not written.

        Errors that stop a whole call (rate limit, outage, revoked access) are
        raised; batches sent before stay written, and writing them again is
        harmless.
        """
        return send_scores(self._apis, writes)

    def read_deal(self, deal_id: str) -> Deal | None:
        """A deal's stage, classified won / lost / open, and its contacts."""
        clean_id = mapping.record_id_of(deal_id)
        if clean_id is None:
            return None
        try:
            # The v3 read lists associated contacts inline, so no v4 call.
            deal, _ = self._apis.call(
                "deals_basic",
                "get_by_id",
                clean_id,
                properties=DEAL_PROPERTIES,
                associations=[paths.CONTACTS],
                archived=False,
            )
        except errors.NotFound:
            return None
        values = deal.properties or {}
        stage_id = values.get("dealstage") or ""
        stage_pipeline, outcome = (
            self._stages.classify(stage_id, self._pipeline_stages)
            if stage_id
            else (None, "open")
        )
        return Deal(
            deal_id=clean_id,
            stage_id=stage_id,
            pipeline_id=values.get("pipeline") or stage_pipeline,
            outcome=outcome,
            contact_ids=_associated_contacts(deal.associations),
            closed_at=(
                mapping.moment_of(values.get("closedate"))
                if outcome != "open"
                else None
            ),
        )

    def _pipeline_stages(self) -> Iterator[tuple[str, str, Any]]:
        pipelines, _ = self._apis.call("pipelines", "get_all", paths.DEALS)
        for pipeline in pipelines.results or []:
            for stage in pipeline.stages or []:
                yield str(pipeline.id), str(stage.id), stage.metadata

    def uninstall(self) -> None:
        """Uninstall the app from the portal (HubSpot emails its Super Admins a
        reinstall link). An install that is already gone counts as done."""
        try:
            self._apis.run(self._delete_install)
        except AccessRevoked:
            return

    def _delete_install(self, token: str) -> None:
        try:
            with requests.delete(
                f"{self._base}{paths.EXTERNAL_INSTALL_PATH}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            ) as answer:
                body = answer.raw.read(errors.MAX_BODY_BYTES, decode_content=True)
                status, headers = answer.status_code, answer.headers
        except errors.TRANSPORT_ERRORS as failure:
            raise errors.from_transport(failure) from None
        if not 200 <= status < 300:
            raise errors.from_status(status, body, headers)


_process_limiter: RateLimiter | None = None
_budget_keys: "weakref.WeakKeyDictionary[Any, str]" = weakref.WeakKeyDictionary()
_budget_numbers = itertools.count(1)
_budget_lock = threading.Lock()


def _process_budget(tokens: AccessTokens) -> AccountLimit:
    """The budget of this process for the portal behind `tokens`."""
    global _process_limiter
    with _budget_lock:
        if _process_limiter is None:
            _process_limiter = RateLimiter(RATES)
        try:
            key = _budget_keys.get(tokens)
            if key is None:
                key = _budget_keys[tokens] = f"tokens-{next(_budget_numbers)}"
        except TypeError:  # not weakly referable: a budget of its own
            key = f"tokens-{next(_budget_numbers)}"
        return _process_limiter.for_account(key)


def _contact_ids(refs: Sequence[RecordRef]) -> list[str]:
    """Distinct contact ids in order; ids that cannot be HubSpot's are skipped."""
    seen: dict[str, None] = {}
    for ref in refs:
        if ref.object_type != paths.CONTACTS:
            raise ValueError(f"HubSpot has no {ref.object_type!r} records here")
        record_id = mapping.record_id_of(ref.record_id)
        if record_id is not None:
            seen.setdefault(record_id)
    return list(seen)


def _contact(record: Any, overrides: dict[str, str]) -> CrmContact | None:
    record_id = mapping.record_id_of(None if record.id is None else str(record.id))
    if record_id is None:
        return None
    return mapping.to_contact(
        record_id, record.properties, record.updated_at, overrides
    )


def _associated_contacts(associations: Any) -> list[str]:
    found = (associations or {}).get(paths.CONTACTS)
    ids: dict[str, None] = {}
    for item in getattr(found, "results", None) or []:
        record_id = mapping.record_id_of(str(item.id))
        if record_id is not None and len(ids) < MAX_DEAL_CONTACTS:
            ids.setdefault(record_id)
    return list(ids)
