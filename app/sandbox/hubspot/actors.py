"""`HubSpotSandbox.act`: a person working in HubSpot's UI. Changes made here carry
`changeSource: CRM_UI` with the user as `sourceId` and fire webhooks exactly like
the app's own API writes (which carry `INTEGRATION` and the app's id). Company
actions: `company_actions.py`."""

from typing import TYPE_CHECKING, Any

from app.sandbox.hubspot.company_actions import CompanyActions
from app.sandbox.hubspot.store import CRM_UI
from app.sandbox.hubspot.values import iso

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox


class UserActions(CompanyActions):
    """Edits a HubSpot user makes by hand; each returns the record's id."""

    def __init__(self, owner: "HubSpotSandbox") -> None:
        self._sb = owner

    def _account(self, hub_id: int):
        return self._sb.store.account(hub_id)

    def create_contact(self, hub_id: int, **properties: Any) -> str:
        """Create a contact (any writable property, e.g. email=..., firstname=...)."""
        return self._sb.store.create(
            self._account(hub_id), "contacts", properties, CRM_UI
        ).id

    def update_contact(self, hub_id: int, contact_id: str, **properties: Any) -> str:
        """Edit a contact's properties."""
        return self._sb.store.update(
            self._account(hub_id), "contacts", contact_id, properties, CRM_UI
        ).id

    def create_deal(
        self, hub_id: int, contact_ids: list[str] | None = None, **properties: Any
    ) -> str:
        """Create a deal, optionally associated with contacts."""
        store, account = self._sb.store, self._account(hub_id)
        deal = store.create(account, "deals", properties, CRM_UI)
        for contact_id in contact_ids or []:
            store.associate(account, deal.id, str(contact_id), CRM_UI)
        return deal.id

    def update_deal(self, hub_id: int, deal_id: str, **properties: Any) -> str:
        """Edit a deal's properties."""
        return self._sb.store.update(
            self._account(hub_id), "deals", deal_id, properties, CRM_UI
        ).id

    def move_deal(self, hub_id: int, deal_id: str, stage_id: str) -> str:
        """Drag a deal to another stage (fires deal.propertyChange for dealstage)."""
        return self.update_deal(hub_id, deal_id, dealstage=stage_id)

    def associate(self, hub_id: int, deal_id: str, contact_id: str) -> None:
        """Link a deal and a contact."""
        self._sb.store.associate(
            self._account(hub_id), str(deal_id), str(contact_id), CRM_UI
        )

    def open_email(self, hub_id: int, contact_id: str, clicked: bool = False) -> str:
        """The contact opens (and maybe clicks) a marketing email."""
        store, account = self._sb.store, self._account(hub_id)
        with store.lock:
            record = store.get(account, "contacts", contact_id)
            now = iso(store.clock.now())
            values = {
                "hs_email_open": _plus(record, "hs_email_open"),
                "hs_email_delivered": _plus(record, "hs_email_delivered"),
                "hs_email_last_open_date": now,
            }
            if clicked:
                values |= {
                    "hs_email_click": _plus(record, "hs_email_click"),
                    "hs_email_last_click_date": now,
                }
            return store.update(
                account, "contacts", contact_id, values, CRM_UI, trusted=True
            ).id

    def bounce_email(
        self, hub_id: int, contact_id: str, reason: str = "UNKNOWN_USER"
    ) -> str:
        """A marketing email to the contact hard-bounces."""
        store, account = self._sb.store, self._account(hub_id)
        with store.lock:
            record = store.get(account, "contacts", contact_id)
            values = {
                "hs_email_bounce": _plus(record, "hs_email_bounce"),
                "hs_email_hard_bounce_reason_enum": reason,
            }
            return store.update(
                account, "contacts", contact_id, values, CRM_UI, trusted=True
            ).id

    def reply_to_sales_email(self, hub_id: int, contact_id: str) -> str:
        """The contact replies to a salesperson's tracked email."""
        store, account = self._sb.store, self._account(hub_id)
        values = {"hs_sales_email_last_replied": iso(store.clock.now())}
        return store.update(
            account, "contacts", contact_id, values, CRM_UI, trusted=True
        ).id

    def log_activity(self, hub_id: int, contact_id: str) -> str:
        """A salesperson logs a call or note (updates notes_* properties)."""
        store, account = self._sb.store, self._account(hub_id)
        with store.lock:
            record = store.get(account, "contacts", contact_id)
            now = iso(store.clock.now())
            values = {
                "notes_last_updated": now,
                "notes_last_contacted": now,
                "num_contacted_notes": _plus(record, "num_contacted_notes"),
            }
            return store.update(
                account, "contacts", contact_id, values, CRM_UI, trusted=True
            ).id

    def delete(self, hub_id: int, object_type: str, object_id: str) -> None:
        """Delete a contact or deal (to the recycle bin)."""
        self._sb.store.archive(
            self._account(hub_id), object_type, str(object_id), CRM_UI
        )

    def privacy_delete_contact(self, hub_id: int, contact_id: str) -> None:
        """GDPR-delete a contact: fires privacyDeletion and deletion."""
        self._sb.store.archive(
            self._account(hub_id),
            "contacts",
            str(contact_id),
            CRM_UI,
            kind="privacyDeletion",
        )

    def merge_contacts(self, hub_id: int, primary_id: str, merged_id: str) -> str:
        """Merge `merged_id` into `primary_id`; the primary keeps its id."""
        store, account = self._sb.store, self._account(hub_id)
        with store.lock:
            primary = store.get(account, "contacts", primary_id)
            merged = store.get(account, "contacts", merged_id)
            moved = {
                k: v
                for k, v in merged.properties.items()
                if v
                and not primary.properties.get(k)
                and not account.properties["contacts"][k]["modificationMetadata"][
                    "readOnlyValue"
                ]
                and k not in ("email", "associatedcompanyid")
            }
            for deal_id in store.associated(account, "contacts", merged.id):
                store.associate(account, deal_id, primary.id, CRM_UI)
            keeps_primary = primary.id not in account.primary_company
            for company_id in store.associated(
                account, "contacts", merged.id, "companies"
            ):
                store.link(
                    account,
                    "contacts",
                    primary.id,
                    "companies",
                    company_id,
                    CRM_UI,
                    primary=keeps_primary
                    and store.is_primary(account, merged.id, company_id),
                )
            store.archive(account, "contacts", merged.id, CRM_UI, kind="merged")
            if moved:
                store.update(account, "contacts", primary.id, moved, CRM_UI)
            store._emit(
                account,
                [
                    {
                        "kind": "merge",
                        "objectType": "contacts",
                        "objectId": primary.id,
                        "source": CRM_UI,
                        "occurredAt": int(store.clock.now() * 1000),
                        "primaryObjectId": int(primary.id),
                        "mergedObjectIds": [int(merged.id)],
                        "newObjectId": int(primary.id),
                        "numberOfPropertiesMoved": len(moved),
                    }
                ],
            )
            return primary.id


def _plus(record, name: str) -> str:
    return str(int(float(record.properties.get(name) or 0)) + 1)
