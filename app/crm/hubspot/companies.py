"""Industry and company size from a contact's primary company, for contacts
that lack their own.

The primary company's id is the contact's `associatedcompanyid`, read with the
contact, so no association call is needed. Companies are batch-read, 100 per
call, and kept in a per-portal `CompanyCache` (bounded, least recently used out,
entries expiring after an hour) that the services hold across calls and tasks;
a company that does not exist is remembered too, so it is not asked for again.

A backfill lists every contact, so in a portal whose companies are few next to
its contacts, listing all companies once costs fewer calls than one batch read
per page of contacts; `PrimaryCompanies` does that when the two totals (one
search each, outside the portal's 110-calls budget) say so.

Reading companies needs the optional scope `crm.objects.companies.read`. Without
it, or once HubSpot refuses it (403), contacts are scored from their own values.
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from hubspot.crm.companies import (
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectId,
)
from hubspot.crm.companies import PublicObjectSearchRequest as CompanySearch
from hubspot.crm.contacts import PublicObjectSearchRequest as ContactSearch

from app.crm.base import AccessRevoked, CrmContact, CrmError, ScopeMissing
from app.crm.hubspot import mapping
from app.crm.hubspot.sdk import AccountApis

COMPANIES_SCOPE = "crm.objects.companies.read"
# HubSpot's default company properties "Industry" (an enumeration such as
# COMPUTER_SOFTWARE, which the industry taxonomy knows) and "Number of
# Employees" (a count, where the contact's own `numemployees` is a range).
COMPANY_PROPERTIES = ("industry", "numberofemployees")
FILLED_FIELDS = ("industry", "employee_count")
BATCH_LIMIT = 100
MAX_ENTRIES = 5_000
TTL_SECONDS = 3_600.0
MAX_ACCOUNTS = 64
# HubSpot's industries are short codes; a longer value is cut, so a cache entry
# stays small whatever a portal's custom options hold.
MAX_INDUSTRY_CHARS = 200

# Lead fields a company gives, as (field, value) pairs; () for a company without
# them, None for one that does not exist.
Facts = tuple[tuple[str, str], ...]


class CompanyCache:
    """The companies of one portal, by id: at most `max_entries`, each kept
    `ttl_seconds`. Safe to share between threads."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        ttl_seconds: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1 or ttl_seconds <= 0:
            raise ValueError("a cache needs room and a positive lifetime")
        self.max_entries = max_entries
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Facts | None]] = OrderedDict()
        self._listed_until = -math.inf
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def lookup(self, ids: Iterable[str]) -> tuple[dict[str, Facts | None], list[str]]:
        """The known companies among `ids`, and the ids to read from HubSpot."""
        known: dict[str, Facts | None] = {}
        unknown: list[str] = []
        now = self._clock()
        with self._lock:
            for company_id in ids:
                entry = self._entries.get(company_id)
                if entry is None or entry[0] <= now:
                    self._entries.pop(company_id, None)
                    unknown.append(company_id)
                else:
                    self._entries.move_to_end(company_id)
                    known[company_id] = entry[1]
        return known, unknown

    def store(self, company_id: str, facts: Facts | None) -> None:
        """Remember a company (None: HubSpot has no such company)."""
        expires = self._clock() + self._ttl
        with self._lock:
            self._entries[company_id] = (expires, facts)
            self._entries.move_to_end(company_id)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def claim_listing(self) -> bool:
        """True once per lifetime: whether the caller should consider listing
        every company now (a backfill's first page that misses the cache)."""
        now = self._clock()
        with self._lock:
            if self._listed_until > now:
                return False
            self._listed_until = now + self._ttl
            return True


class CompanyCaches:
    """One CompanyCache per portal (by any key the services choose), for at
    most `max_accounts` portals, least recently used out."""

    def __init__(self, max_accounts: int = MAX_ACCOUNTS, **cache: Any) -> None:
        self._max = max_accounts
        self._cache = cache
        self._caches: OrderedDict[Any, CompanyCache] = OrderedDict()
        self._lock = threading.Lock()

    def of(self, key: Any) -> CompanyCache:
        """The cache of portal `key`."""
        with self._lock:
            found = self._caches.get(key)
            if found is None:
                found = self._caches[key] = CompanyCache(**self._cache)
                while len(self._caches) > self._max:
                    self._caches.popitem(last=False)
            self._caches.move_to_end(key)
            return found


class PrimaryCompanies:
    """Fills contacts' missing industry and size from their primary company."""

    def __init__(
        self, apis: AccountApis, cache: CompanyCache | None, enabled: bool
    ) -> None:
        self._apis = apis
        self._cache = cache if cache is not None else CompanyCache()
        # Turned off for good by a 403: the portal did not grant the scope.
        self.enabled = enabled

    def fill(
        self, contacts: list[CrmContact], listing: bool = False
    ) -> list[CrmContact]:
        """`contacts`, those lacking industry or size completed from their
        primary company's; `listing` marks a page of a listing of all contacts."""
        wanted = {c.company_id for c in contacts if c.company_id and _lacks(c.lead)}
        if not wanted or not self.enabled:
            return contacts
        known, unknown = self._cache.lookup(sorted(wanted))
        try:
            if unknown and listing and self._cache.claim_listing():
                self._list_all()
                found, unknown = self._cache.lookup(unknown)
                known.update(found)
            for start in range(0, len(unknown), BATCH_LIMIT):
                known.update(self._read(unknown[start : start + BATCH_LIMIT]))
        except ScopeMissing:
            self.enabled = False
        except CrmError as failure:
            # A refusal that will not change (not a limit or an outage): these
            # contacts are scored from their own values rather than never.
            if failure.retryable or isinstance(failure, AccessRevoked):
                raise
        return [
            _filled(contact, known.get(contact.company_id or ""))
            for contact in contacts
        ]

    def _read(self, ids: Sequence[str]) -> dict[str, Facts | None]:
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids],
            properties=list(COMPANY_PROPERTIES),
            properties_with_history=[],
        )
        # A 207 lists the ids that do not exist (deleted companies): remembered
        # as absent.
        answer, _ = self._apis.call(
            "companies_batch",
            "read",
            batch_read_input_simple_public_object_id=body,
            archived=False,
        )
        read: dict[str, Facts | None] = dict.fromkeys(ids)
        for record in answer.results or []:
            company_id = mapping.record_id_of(str(record.id))
            if company_id in read:
                read[company_id] = _facts(record.properties)
        for company_id, facts in read.items():
            self._cache.store(company_id, facts)
        return read

    def _list_all(self) -> None:
        """Every company into the cache, when that costs at most half the batch
        reads the listing of all contacts would make (one per page)."""
        companies = self._total("companies_search", CompanySearch)
        contacts = self._total("contacts_search", ContactSearch)
        pages = math.ceil(companies / BATCH_LIMIT)
        if not pages or pages * BATCH_LIMIT > self._cache.max_entries:
            return
        if 2 * pages > math.ceil(contacts / BATCH_LIMIT):
            return
        after = None
        for _ in range(pages + 1):  # one page more for companies added meanwhile
            page, _ = self._apis.call(
                "companies_basic",
                "get_page",
                limit=BATCH_LIMIT,
                after=after,
                properties=list(COMPANY_PROPERTIES),
                archived=False,
            )
            for record in page.results or []:
                company_id = mapping.record_id_of(str(record.id))
                if company_id is not None:
                    self._cache.store(company_id, _facts(record.properties))
            after = getattr(getattr(page.paging, "next", None), "after", None)
            if not after:
                return

    def _total(self, api: str, request: type) -> int:
        answer, _ = self._apis.call(
            api,
            "do_search",
            public_object_search_request=request(
                limit=1, properties=["hs_object_id"], filter_groups=[]
            ),
        )
        total = getattr(answer, "total", None)
        return total if isinstance(total, int) and total >= 0 else 0


def _lacks(lead: dict[str, Any]) -> bool:
    return any(field not in lead for field in FILLED_FIELDS)


def _facts(properties: Any) -> Facts:
    values = properties if isinstance(properties, dict) else {}
    industry = values.get("industry")
    # Read as the contact's own properties are, so the same checks apply.
    lead = mapping.to_lead(
        {
            "industry": industry[:MAX_INDUSTRY_CHARS]
            if isinstance(industry, str)
            else None,
            "numemployees": values.get("numberofemployees"),
        }
    )
    return tuple((f, lead[f]) for f in FILLED_FIELDS if f in lead)


def _filled(contact: CrmContact, facts: Facts | None) -> CrmContact:
    missing = {f: v for f, v in facts or () if f not in contact.lead}
    return replace(contact, lead={**contact.lead, **missing}) if missing else contact
