"""Reading leads and contacts from the Uspacy emulation over HTTP: pages of a
backfill across page boundaries (records created or deleted meanwhile
included), records by id, and what a real record maps to."""

import inspect

import pytest

from app.crm.base import CrmAccount, RecordRef
from app.crm.uspacy.client import UspacyAccount
from tests.crm.uspacy.helpers import DOMAIN

RECORDS = "GET /crm/v1/entities/<any(leads, contacts, deals, companies):kind>"
ONE = (
    "GET /crm/v1/entities/<any(leads, contacts, deals, companies):kind>/<int:record_id>"
)
FUNNELS = "GET /crm/v1/entities/<any(leads, deals):kind>/funnel"


def test_the_adapter_has_every_method_of_the_interface():
    wanted = [
        name
        for name, member in vars(CrmAccount).items()
        if inspect.isfunction(member) and not name.startswith("_")
    ]
    assert len(wanted) == 6
    for name in wanted:
        ours = inspect.signature(getattr(UspacyAccount, name))
        theirs = inspect.signature(getattr(CrmAccount, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        assert [p.default for p in ours.parameters.values()] == [
            p.default for p in theirs.parameters.values()
        ], name


def make_leads(uspacy, count: int, start: int = 0) -> list[str]:
    return [
        str(
            uspacy.act_create(
                DOMAIN,
                "leads",
                first_name=f"Lead{i}",
                email=[{"value": f"lead{i}@acme.ua", "type": "work"}],
            )["id"]
        )
        for i in range(start, start + count)
    ]


def backfill(account, object_type: str, limit: int, between=None) -> list[str]:
    """Every record id the pages give, in order; `between(n)` runs after page n."""
    ids, cursor, pages = [], None, 0
    while True:
        page = account.list_contacts(object_type, cursor, limit)
        ids += [contact.ref.record_id for contact in page.contacts]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return ids
        if between is not None:
            between(pages)
        assert pages < 50


def test_pages_of_leads_cross_page_boundaries_once_each(uspacy, account):
    created = make_leads(uspacy, 7)
    uspacy.act_create(DOMAIN, "contacts", first_name="Not a lead")

    assert backfill(account, "leads", limit=3) == created
    assert uspacy.calls(DOMAIN)[RECORDS] == 3
    # A page as large as the portal ends at once.
    page = account.list_contacts("leads", None, 100)
    assert [c.ref.record_id for c in page.contacts] == created
    assert page.next_cursor is None


def test_pages_of_contacts_hold_only_contacts(uspacy, account):
    contacts = [
        str(uspacy.act_create(DOMAIN, "contacts", first_name=f"C{i}")["id"])
        for i in range(5)
    ]
    make_leads(uspacy, 2)

    assert backfill(account, "contacts", limit=2) == contacts
    assert all(
        c.ref.object_type == "contacts"
        for c in account.list_contacts("contacts", None, 10).contacts
    )


def test_records_created_during_a_backfill_come_on_later_pages(uspacy, account):
    created = make_leads(uspacy, 4)
    later: list[str] = []

    def create_one(_pages: int) -> None:
        later.extend(make_leads(uspacy, 1, start=100 + len(later)))

    assert backfill(account, "leads", limit=2, between=create_one) == (created + later)


def test_records_deleted_during_a_backfill_do_not_hide_later_ones(uspacy, account):
    created = make_leads(uspacy, 9)
    first = account.list_contacts("leads", None, 3)
    # Two records of the first page go: the rest move two places forward.
    for record_id in created[:2]:
        uspacy.act_delete(DOMAIN, "leads", int(record_id))

    rest, cursor = [], first.next_cursor
    while cursor is not None:
        page = account.list_contacts("leads", cursor, 3)
        rest += [c.ref.record_id for c in page.contacts]
        cursor = page.next_cursor

    assert [c.ref.record_id for c in first.contacts] + rest == created


def test_a_cursor_not_made_by_the_adapter_is_refused(account):
    for cursor in ("abc", "1:2", "0:0:0", "1:-1:3", "9" * 200):
        with pytest.raises(ValueError):
            account.list_contacts("leads", cursor)
    with pytest.raises(ValueError):
        account.list_contacts("deals", None)


def test_read_by_id_leaves_out_missing_records_and_mixes_types(uspacy, account):
    [lead] = make_leads(uspacy, 1)
    contact = str(uspacy.act_create(DOMAIN, "contacts", first_name="Olena")["id"])
    refs = [
        RecordRef("leads", lead),
        RecordRef("contacts", contact),
        RecordRef("leads", "999999"),  # never existed
        RecordRef("leads", "not-an-id"),
        RecordRef("leads", lead),  # asked twice, read once
    ]

    found = account.read_contacts(refs)

    assert [(c.ref.object_type, c.ref.record_id) for c in found] == [
        ("leads", lead),
        ("contacts", contact),
    ]
    assert found[1].lead["first_name"] == "Olena"
    assert set(found[1].lead) == {"first_name", "create_date"}
    assert uspacy.calls(DOMAIN)[ONE] == 3
    with pytest.raises(ValueError):
        account.read_contacts([RecordRef("companies", "1")])


def test_a_real_lead_maps_to_the_engines_fields(uspacy, account, clock):
    record = uspacy.act_create(
        DOMAIN,
        "leads",
        first_name="Olena",
        last_name="Koval",
        position="CTO",
        company_name="Acme",
        phone=[{"value": "380661112233", "type": "work"}],
        email=[
            {"value": "other@acme.ua", "type": "home", "main": False},
            {"value": "olena@acme.ua", "type": "work", "main": True},
        ],
    )

    [contact] = account.read_contacts([RecordRef("leads", str(record["id"]))])

    assert contact.lead == {
        "email": "olena@acme.ua",
        "first_name": "Olena",
        "last_name": "Koval",
        "phone": "380661112233",
        "company": "Acme",
        "job_title": "CTO",
        # Uspacy's unix seconds, as the epoch milliseconds the engine reads.
        "create_date": record["created_at"] * 1000,
        # The lead sits in its funnel's first stage, code NEW.
        "lead_status": "new",
    }
    assert contact.updated_at.timestamp() == record["updated_at"]
    assert contact.signals == frozenset()
    assert contact.stored.score is None and contact.stored.label is None


def test_a_lead_moved_through_its_funnel_changes_status_and_signals(uspacy, account):
    [lead] = make_leads(uspacy, 1)
    stages = {s["stage_code"]: s["id"] for s in uspacy_stages(uspacy, "leads")}
    ref = [RecordRef("leads", lead)]

    uspacy.act_move(DOMAIN, "leads", int(lead), stages["negotiation"])
    [working] = account.read_contacts(ref)
    uspacy.act_move(DOMAIN, "leads", int(lead), stages["SUCCESS"])
    [won] = account.read_contacts(ref)
    uspacy.act_move(DOMAIN, "leads", int(lead), stages["FAIL"])
    [lost] = account.read_contacts(ref)

    assert working.lead["lead_status"] == "in_progress"
    assert won.lead["lead_status"] == "qualified"
    assert won.signals == frozenset()  # the stage change is the outcome
    assert lost.lead["lead_status"] == "unqualified"
    # The funnels were read once for all three.
    assert uspacy.calls(DOMAIN)[FUNNELS] == 1


def uspacy_stages(uspacy, kind: str) -> list[dict]:
    portal = uspacy.store.portals[DOMAIN]
    return [stage for funnel in portal.funnels[kind] for stage in funnel["stages"]]
