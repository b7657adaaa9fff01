"""Deal↔contact associations inside the store: link, unlink, keep the
`num_associated_*` counts right, and report associationChange for both sides."""

from app.sandbox.hubspot.model import INTEGRATION, Account


class LinksMixin:
    """Association methods of `HubSpotStore`."""

    # -- associations --

    def associate(
        self, account: Account, deal_id: str, contact_id: str, source: str = INTEGRATION
    ) -> None:
        """Link a deal and a contact (type 3 / 4) and update the counts."""
        with self.lock:
            self.get(account, "deals", deal_id)
            self.get(account, "contacts", contact_id)
            if (deal_id, contact_id) in account.associations:
                return
            account.associations.add((deal_id, contact_id))
            self._association_changed(account, deal_id, contact_id, source, False)

    def disassociate(
        self, account: Account, deal_id: str, contact_id: str, source: str = INTEGRATION
    ) -> None:
        """Remove a deal↔contact link if present."""
        with self.lock:
            if (deal_id, contact_id) not in account.associations:
                return
            account.associations.discard((deal_id, contact_id))
            self._association_changed(account, deal_id, contact_id, source, True)

    def _association_changed(
        self,
        account: Account,
        deal_id: str,
        contact_id: str,
        source: str,
        removed: bool,
    ) -> None:
        changes = []
        for otype, oid, count_name in (
            ("deals", deal_id, "num_associated_contacts"),
            ("contacts", contact_id, "num_associated_deals"),
        ):
            record = account.objects[otype][oid]
            count = len(self.associated(account, otype, oid))
            changes += self._apply(
                account, otype, record, {count_name: str(count)}, source
            )
        occurred = int(self.clock.now() * 1000)
        for otype, from_id, to_id, kind in (
            ("contacts", contact_id, deal_id, "CONTACT_TO_DEAL"),
            ("deals", deal_id, contact_id, "DEAL_TO_CONTACT"),
        ):
            changes.append(
                {
                    "kind": "associationChange",
                    "objectType": otype,
                    "objectId": from_id,
                    "associationType": kind,
                    "fromObjectId": int(from_id),
                    "toObjectId": int(to_id),
                    "associationRemoved": removed,
                    "isPrimaryAssociation": False,
                    "source": source,
                    "occurredAt": occurred,
                }
            )
        self._emit(account, changes)

    def associated(self, account: Account, otype: str, object_id: str) -> list[str]:
        """Ids on the other side of deal↔contact links, in id order."""
        if otype == "deals":
            ids = [c for d, c in account.associations if d == str(object_id)]
        else:
            ids = [d for d, c in account.associations if c == str(object_id)]
        return sorted(ids, key=int)
