"""Associations inside the store (deal↔contact, contact↔company): link, unlink,
keep the `num_associated_*` counts and a contact's `associatedcompanyid` right,
and report associationChange for both sides.

A contact has at most one primary company. Making a company primary reports the
unlabelled association and the primary one (HubSpot sends both), and moves the
primary label off the previous company, which stays associated.
"""

from app.sandbox.hubspot import defaults
from app.sandbox.hubspot.model import CALCULATED, INTEGRATION, Account, Change

COMPANY_PAIR = ("contacts", "companies")
# `associationType` of associationChange events, e.g. CONTACT_TO_COMPANY.
NAMES = {
    (own, other): f"{defaults.SINGULAR[own]}_TO_{defaults.SINGULAR[other]}".upper()
    for own, other in defaults.ASSOCIATION_TYPES
}


class LinksMixin:
    """Association methods of `HubSpotStore`."""

    def associate(
        self, account: Account, deal_id: str, contact_id: str, source: str = INTEGRATION
    ) -> None:
        """Link a deal and a contact (types 3 / 4)."""
        self.link(account, "deals", deal_id, "contacts", contact_id, source)

    def disassociate(
        self, account: Account, deal_id: str, contact_id: str, source: str = INTEGRATION
    ) -> None:
        """Remove a deal↔contact link if present."""
        self.unlink(account, "deals", deal_id, "contacts", contact_id, source)

    def link(
        self,
        account: Account,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        source: str = INTEGRATION,
        primary: bool = False,
    ) -> None:
        """Associate two records (NotFound if either is gone); `primary` makes the
        company the contact's primary one."""
        _check_pair(from_type, to_type, primary)
        with self.lock:
            self.get(account, from_type, from_id)
            self.get(account, to_type, to_id)
            from_id, to_id = str(from_id), str(to_id)
            forward = account.links[(from_type, to_type)].setdefault(from_id, set())
            added = to_id not in forward
            forward.add(to_id)
            account.links[(to_type, from_type)].setdefault(to_id, set()).add(from_id)
            changes: list[Change] = []
            if added:
                self._recount(account, from_type, from_id, to_type, to_id, changes)
                changes += _events(from_type, from_id, to_type, to_id, source, False)
            if primary:
                contact_id, company_id = _contact_company(
                    from_type, from_id, to_type, to_id
                )
                self._make_primary(account, contact_id, company_id, source, changes)
            self._emit(account, changes)

    def _make_primary(
        self,
        account: Account,
        contact_id: str,
        company_id: str,
        source: str,
        changes: list[Change],
    ) -> None:
        was = account.primary_company.get(contact_id)
        if was == company_id:
            return
        if was is not None:
            changes += _events(
                "contacts", contact_id, "companies", was, source, True, primary=True
            )
        account.primary_company[contact_id] = company_id
        contact = account.objects["contacts"][contact_id]
        changes += self._apply(
            account, "contacts", contact, {"associatedcompanyid": company_id}, source
        )
        changes += _events(
            "contacts", contact_id, "companies", company_id, source, False, primary=True
        )

    def set_primary_company(
        self, account: Account, contact_id: str, company_id: str, source: str
    ) -> None:
        """What writing `associatedcompanyid` does: associate the company as the
        contact's primary one, or ("") take the primary label off (the company
        stays associated). [guess: HubSpot's handling of a cleared value is
        unpublished]"""
        with self.lock:
            if company_id:
                self.link(
                    account,
                    "contacts",
                    contact_id,
                    "companies",
                    company_id,
                    source,
                    primary=True,
                )
            elif contact_id in account.primary_company:
                changes: list[Change] = []
                self._drop_primary(account, contact_id, source, changes)
                self._emit(account, changes)

    def _drop_primary(
        self, account: Account, contact_id: str, source: str, changes: list[Change]
    ) -> None:
        company_id = account.primary_company.pop(contact_id)
        contact = account.objects["contacts"][contact_id]
        changes += self._apply(
            account, "contacts", contact, {"associatedcompanyid": ""}, source
        )
        changes += _events(
            "contacts", contact_id, "companies", company_id, source, True, primary=True
        )

    def unlink(
        self,
        account: Account,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        source: str = INTEGRATION,
    ) -> None:
        """Remove every association between two records, if any."""
        _check_pair(from_type, to_type, False)
        with self.lock:
            from_id, to_id = str(from_id), str(to_id)
            forward = account.links[(from_type, to_type)].get(from_id)
            if not forward or to_id not in forward:
                return
            forward.discard(to_id)
            account.links[(to_type, from_type)][to_id].discard(from_id)
            changes: list[Change] = []
            if {from_type, to_type} == set(COMPANY_PAIR):
                contact_id, company_id = _contact_company(
                    from_type, from_id, to_type, to_id
                )
                if account.primary_company.get(contact_id) == company_id:
                    self._drop_primary(account, contact_id, source, changes)
            self._recount(account, from_type, from_id, to_type, to_id, changes)
            changes += _events(from_type, from_id, to_type, to_id, source, True)
            self._emit(account, changes)

    def unlink_all(
        self, account: Account, otype: str, object_id: str, source: str
    ) -> None:
        """Drop every association of a record (it is being deleted)."""
        with self.lock:
            for from_type, to_type in defaults.ASSOCIATION_TYPES:
                if from_type == otype:
                    for other in self.associated(account, otype, object_id, to_type):
                        self.unlink(account, otype, object_id, to_type, other, source)

    def _recount(
        self,
        account: Account,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        changes: list[Change],
    ) -> None:
        """Update the association counts HubSpot calculates on both records."""
        for own, oid, other in (
            (from_type, from_id, to_type),
            (to_type, to_id, from_type),
        ):
            name = defaults.ASSOCIATION_COUNTS.get((own, other))
            record = account.objects[own].get(oid)
            if name is None or record is None or record.archived:
                continue
            count = len(account.links[(own, other)].get(oid, ()))
            changes += self._apply(account, own, record, {name: str(count)}, CALCULATED)

    def associated(
        self,
        account: Account,
        otype: str,
        object_id: str,
        other_type: str | None = None,
    ) -> list[str]:
        """Ids associated with a record (deals↔contacts by default), in id order."""
        other = other_type or ("contacts" if otype != "contacts" else "deals")
        with self.lock:
            found = account.links.get((otype, other), {}).get(str(object_id), ())
            return sorted(found, key=int)

    def is_primary(self, account: Account, contact_id: str, company_id: str) -> bool:
        """Whether the company is the contact's primary company."""
        return account.primary_company.get(str(contact_id)) == str(company_id)


def _check_pair(from_type: str, to_type: str, primary: bool) -> None:
    if (from_type, to_type) not in defaults.ASSOCIATION_TYPES:
        raise ValueError(f"{from_type} cannot be associated with {to_type}")
    if primary and {from_type, to_type} != set(COMPANY_PAIR):
        raise ValueError("only a contact's company can be primary")


def _contact_company(
    from_type: str, from_id: str, to_type: str, to_id: str
) -> tuple[str, str]:
    return (from_id, to_id) if from_type == "contacts" else (to_id, from_id)


def _events(
    from_type: str,
    from_id: str,
    to_type: str,
    to_id: str,
    source: str,
    removed: bool,
    primary: bool = False,
) -> list[Change]:
    """associationChange for both sides; the caller stamps the time."""
    return [
        {
            "kind": "associationChange",
            "objectType": own,
            "objectId": own_id,
            "associationType": NAMES[(own, other)],
            "fromObjectId": int(own_id),
            "toObjectId": int(other_id),
            "associationRemoved": removed,
            "isPrimaryAssociation": primary,
            "source": source,
        }
        for own, own_id, other, other_id in (
            (from_type, from_id, to_type, to_id),
            (to_type, to_id, from_type, from_id),
        )
    ]
