"""`HubSpotSandbox.act` for companies: a person in HubSpot's UI creates and edits
companies and associates contacts with them. Like every UI change these carry
`changeSource: CRM_UI` and fire webhooks."""

from typing import TYPE_CHECKING, Any

from app.sandbox.hubspot.model import CRM_UI

if TYPE_CHECKING:
    from app.sandbox.hubspot.sandbox import HubSpotSandbox


class CompanyActions:
    """Company edits of `UserActions`; each returns the record's id."""

    _sb: "HubSpotSandbox"

    def create_company(self, hub_id: int, **properties: Any) -> str:
        """Create a company (name=..., domain=..., industry=..., ...)."""
        store = self._sb.store
        return store.create(store.account(hub_id), "companies", properties, CRM_UI).id

    def update_company(self, hub_id: int, company_id: str, **properties: Any) -> str:
        """Edit a company's properties."""
        store = self._sb.store
        return store.update(
            store.account(hub_id), "companies", str(company_id), properties, CRM_UI
        ).id

    def associate_company(
        self, hub_id: int, contact_id: str, company_id: str, primary: bool = True
    ) -> None:
        """Associate a contact with a company, by default as its primary company
        (as the UI does for a contact's first company): the contact's
        `associatedcompanyid` follows."""
        store = self._sb.store
        store.link(
            store.account(hub_id),
            "contacts",
            str(contact_id),
            "companies",
            str(company_id),
            CRM_UI,
            primary=primary,
        )

    def remove_company(self, hub_id: int, contact_id: str, company_id: str) -> None:
        """Remove a contact↔company association (and the primary label)."""
        store = self._sb.store
        store.unlink(
            store.account(hub_id),
            "contacts",
            str(contact_id),
            "companies",
            str(company_id),
            CRM_UI,
        )
