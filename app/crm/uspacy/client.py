"""`UspacyAccount`: the `CrmAccount` of one installed Uspacy portal, over its
REST API on the portal's own host (`portal.py`).

Leads and contacts are both scored (our `object_type`s "leads" and "contacts",
Uspacy's tables of the same names). Uspacy has no batch read or write, so a
record costs one call to read and one to write; pages of a backfill cost one
call per up to 100 records. Every call takes one call from the portal's budget
(`app.crm.ratelimit`), sized for Uspacy's limit; the services pass the portal's
budget (`RateLimiter(RATES).for_account(domain)`, shared through Redis at
scale), and without one the calls are paced by a limiter of this process.

Beyond the Protocol, the services may register the portal's webhook
(`ensure_webhook`), confirm it (`confirm_webhook`) and learn the app's user id
(`app_user_id`), whose changes are our own and must not be rescored.
"""

import threading
from collections.abc import Mapping, Sequence
from typing import Any

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
    own_outcome_id,
    record_of,
)
from app.crm.ratelimit import AccountLimit, RateLimiter
from app.crm.retry import OnCall
from app.crm.uspacy import (
    contract,
    errors,
    fields,
    mapping,
    paging,
    values,
    webhooks,
)
from app.crm.uspacy.config import RATES, UspacyConfig, checked_domain
from app.crm.uspacy.field_specs import (
    DEFAULT_CODES,
    DEFAULT_LANGUAGE,
    LANGUAGES,
    SCORED_TYPES,
)
from app.crm.uspacy.funnels import FunnelBook, outcome_of
from app.crm.uspacy.portal import PortalApi, unwrapped
from app.crm.uspacy.writes import send_scores

MAX_DEAL_CONTACTS = 1000


class UspacyAccount:
    """One Uspacy portal, reached with the tokens the services keep for it.

    `mapping_overrides` (lead field -> field code, None to stop reading it)
    change the default mapping for leads and contacts alike; a code a record
    lacks reads as absent. `field_codes` are our fields' codes per object type
    as `ensure_fields` found them (the codes we ask for by default).
    """

    scored_types: tuple[str, ...] = SCORED_TYPES

    def __init__(
        self,
        config: UspacyConfig,
        domain: str,
        tokens: AccessTokens,
        limiter: AccountLimit | None = None,
        on_call: OnCall | None = None,
        mapping_overrides: Mapping[str, str | None] | None = None,
        field_codes: Mapping[str, Mapping[str, str]] | None = None,
        funnels: FunnelBook | None = None,
        language: str = DEFAULT_LANGUAGE,
        webhook_url: str | None = None,
    ) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"field names exist in {', '.join(LANGUAGES)} only")
        self.domain = checked_domain(domain)
        self._api = PortalApi(
            config.base_url(self.domain),
            tokens,
            config.timeout_seconds,
            pacer=limiter or _process_budget(self.domain),
            retry=config.call_retry,
            on_call=on_call,
        )
        overrides = mapping_overrides or {}
        self._sources = {k: mapping.sources_for(k, overrides) for k in SCORED_TYPES}
        given = field_codes or {}
        self._codes = {k: {**DEFAULT_CODES, **given.get(k, {})} for k in SCORED_TYPES}
        # The services keep one book per portal across adapters (and tasks): the
        # funnels are fetched once, and again on a stage not seen yet.
        self._funnels = funnels if funnels is not None else FunnelBook()
        self._language = language
        self._webhook_url = webhook_url
        self._user_id: str | None = None

    @property
    def field_codes(self) -> dict[str, dict[str, str]]:
        """Our fields' codes per object type, as this adapter reads and writes."""
        return {kind: dict(codes) for kind, codes in self._codes.items()}

    def close(self) -> None:
        """Release the connection pool."""
        self._api.close()

    def ensure_fields(self) -> FieldSetup:
        """Our six fields on leads and on contacts, created where missing; the
        codes Uspacy returns are kept (here and in FieldSetup.codes)."""
        setup, codes = fields.ensure_fields(self._api, self._language)
        self._codes = codes
        return setup

    def read_contacts(self, refs: Sequence[RecordRef]) -> list[CrmContact]:
        """Leads and contacts by id, one call each; ids Uspacy does not have are
        left out."""
        found: list[CrmContact] = []
        for object_type, record_id in _record_keys(refs):
            path = contract.RECORD_PATH.format(kind=object_type, record_id=record_id)
            try:
                record = unwrapped(self._api.call("GET", path))
            except errors.NotFound:
                continue
            contact = self._contact(record, object_type)
            if contact is not None:
                found.append(contact)
        return found

    def list_contacts(
        self, object_type: str, cursor: str | None, limit: int = 100
    ) -> RecordPage:
        """One page of every lead or contact, in id order; pass `next_cursor`
        back. Records created meanwhile come on later pages, and a page that
        records deleted meanwhile would shift is read again from earlier."""
        if object_type not in SCORED_TYPES:
            raise ValueError(f"Uspacy scores leads and contacts, not {object_type!r}")
        rows, next_cursor = paging.next_page(self._api, object_type, cursor, limit)
        contacts = [self._contact(row, object_type) for row in rows]
        return RecordPage([c for c in contacts if c is not None], next_cursor)

    def write_scores(self, writes: Sequence[ScoreWrite]) -> list[WriteFailure]:
        """Write scores, one call per record; the records that were not written."""
        return send_scores(self._api, writes, self._codes)

    def read_deal(self, deal_id: str) -> Deal | None:
        """A deal's stage, classified won / lost / open, and its contacts; for
        `own_outcome_id("leads", id)`, the lead's own stage in its funnel (the
        lead is its only "contact")."""
        kind, raw_id = record_of(deal_id)
        kind = "deals" if kind == "contacts" else kind
        clean_id = values.record_id(raw_id)
        if clean_id is None or kind not in ("deals", "leads"):
            return None
        path = contract.RECORD_PATH.format(kind=kind, record_id=clean_id)
        try:
            record = unwrapped(self._api.call("GET", path))
        except errors.NotFound:
            return None
        stage_id = record.get(contract.STAGE_KEY)
        stage = self._funnels.stage(kind, stage_id, lambda: self._funnel_rows(kind))
        outcome = outcome_of(
            stage.code if stage else None, record.get(contract.STATUS_KEY)
        )
        contacts = (
            record.get("contacts") if isinstance(record.get("contacts"), list) else []
        )
        contact_ids = dict.fromkeys(
            found
            for item in contacts[:MAX_DEAL_CONTACTS]
            if isinstance(item, dict) and (found := values.record_id(item.get("id")))
        )
        if kind == "leads":
            clean_id = own_outcome_id(kind, clean_id)
            contact_ids = {clean_id: None}
        return Deal(
            deal_id=clean_id,
            stage_id=values.record_id(stage_id) or "",
            pipeline_id=values.record_id(record.get(contract.FUNNEL_KEY))
            or (stage.funnel_id if stage else None),
            outcome=outcome,
            contact_ids=list(contact_ids),
            closed_at=(
                values.moment(record.get(contract.CLOSED_KEY))
                if outcome != "open"
                else None
            ),
        )

    def uninstall(self) -> None:
        """Stop the portal's webhooks to us: Uspacy has no call for an app to
        remove itself (the portal's admin removes it in the marketplace, which
        then calls our uninstall callback), so the Disconnect removes what the
        app registered and the services forget the tokens. Our fields stay: they
        hold the salespeople's view of past scores. An install already gone
        counts as done."""
        try:
            webhooks.remove_webhooks(self._api, self._webhook_url, self.app_user_id())
        except AccessRevoked:
            return

    def ensure_webhook(
        self, url: str | None = None, events: webhooks.Events = webhooks.EVENTS
    ) -> webhooks.WebhookSetup:
        """Register our webhook (to `url`, else the adapter's `webhook_url`) for
        `events`; ScopeMissing when the portal lets only admins manage webhooks."""
        target = url or self._webhook_url
        if not target:
            raise ValueError("no webhook URL for this portal")
        return webhooks.ensure_webhook(self._api, target, events)

    def confirm_webhook(self, validation_link: str) -> None:
        """Fetch the validation link Uspacy posted to our webhook URL, so the
        webhook starts delivering; ValueError for a link off the portal."""
        self._api.fetch_link(validation_link)

    def app_user_id(self) -> str | None:
        """The id of the app's user on the portal: changes it made are ours."""
        if self._user_id is None:
            me = unwrapped(self._api.call("GET", contract.ME_PATH))
            self._user_id = values.record_id(me.get("id"))
        return self._user_id

    def _contact(self, record: dict[str, Any], object_type: str) -> CrmContact | None:
        sources = self._sources[object_type]
        stage_code = None
        if sources.get("lead_status") == contract.STAGE_KEY:
            stage = self._funnels.stage(
                object_type,
                record.get(contract.STAGE_KEY),
                lambda: self._funnel_rows(object_type),
            )
            stage_code = stage.code if stage else None
        return mapping.to_contact(
            record, object_type, sources, self._codes[object_type], stage_code
        )

    def _funnel_rows(self, object_type: str) -> list[Any]:
        answer = self._api.call("GET", contract.FUNNELS_PATH.format(kind=object_type))
        if isinstance(answer, dict):
            answer = answer.get(contract.WRAPPER_KEY)
        return answer if isinstance(answer, list) else []


_process_limiter: RateLimiter | None = None
_limiter_lock = threading.Lock()


def _process_budget(domain: str) -> AccountLimit:
    """The budget of this process for one portal."""
    global _process_limiter
    with _limiter_lock:
        if _process_limiter is None:
            _process_limiter = RateLimiter(RATES)
        return _process_limiter.for_account(domain)


def _record_keys(refs: Sequence[RecordRef]) -> list[tuple[str, str]]:
    """Distinct (object type, id) in order; ids that cannot be Uspacy's skipped."""
    seen: dict[tuple[str, str], None] = {}
    for ref in refs:
        if ref.object_type not in SCORED_TYPES:
            raise ValueError(f"Uspacy has no {ref.object_type!r} records to score")
        record_id = values.record_id(ref.record_id)
        if record_id is not None:
            seen.setdefault((ref.object_type, record_id))
    return list(seen)
