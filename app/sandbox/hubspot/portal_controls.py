"""`HubSpotSandbox` methods a tester uses on one portal: install without the
browser, uninstall from HubSpot's side, per-account knobs, token expiry, token
endpoint counters and the search index. Served over HTTP by `control.py`."""

from typing import TYPE_CHECKING, Any

from app.sandbox.hubspot.appconfig import DEFAULT_SCOPES
from app.sandbox.hubspot.knobs import checked as checked_knobs
from app.sandbox.hubspot.token_info import token_response
from app.sandbox.hubspot.tokens import Grant

if TYPE_CHECKING:
    from app.sandbox.hubspot.appconfig import AppConfig
    from app.sandbox.hubspot.store import Account, HubSpotStore
    from app.sandbox.hubspot.tokens import TokenBook


class PortalControls:
    """Mixed into `HubSpotSandbox`, which provides `store` and `tokens`."""

    store: "HubSpotStore"
    tokens: "TokenBook"
    app_config: "AppConfig"

    def create_account(self, hub_id: int, user: str | None = None) -> "Account":
        """Create (or return) the portal `hub_id` (int32, e.g. 48213377)."""
        return self.store.create_account(hub_id, user=user)

    def mint_tokens(
        self,
        hub_id: int,
        scopes: list[str] | None = None,
        optional_scopes: list[str] | None = None,
    ) -> dict[str, Any]:
        """Install the app on `hub_id` without the browser; return the 2026-03
        token response. Optional scopes the portal lacks are not granted; a
        required one it lacks raises ValueError, as the install would fail."""
        for given in (scopes, optional_scopes):
            if given is not None and not (
                isinstance(given, list) and all(isinstance(s, str) for s in given)
            ):
                raise ValueError("scopes must be a list of scope names")
        account = self.create_account(hub_id)
        lacking = set(account.knobs["unavailable_scopes"])
        required = list(scopes or DEFAULT_SCOPES)
        if lacking.intersection(required):
            raise ValueError(
                f"account {hub_id} lacks scopes {sorted(lacking & set(required))}"
            )
        granted = sorted(set(required) | (set(optional_scopes or []) - lacking))
        account.installed = True
        grant = Grant(account.hub_id, account.user_id, account.user, granted)
        issued = self.tokens.issue(grant, account.knobs["access_token_seconds"])
        return token_response(issued, "2026-03")

    def uninstall(self, hub_id: int) -> None:
        """The app is uninstalled from `hub_id` (by the app, or by a portal admin
        in HubSpot's UI): refresh gives 400 BAD_REFRESH_TOKEN/invalid_grant,
        access tokens give 401, webhooks stop. HubSpot sends no webhook for it."""
        account = self.store.account(hub_id)
        account.installed = False
        self.tokens.revoke_account(account.hub_id)

    def knobs(self, hub_id: int, **changes: Any) -> dict[str, Any]:
        """Read or set the account's knobs: `access_token_seconds`,
        `search_index_delay`, `unavailable_scopes`, `rotate_refresh_tokens`
        (see `knobs.py`)."""
        account = self.store.account(hub_id)
        clean = checked_knobs(changes)
        with self.store.lock:
            account.knobs.update(clean)
            return {
                k: list(v) if isinstance(v, list) else v
                for k, v in account.knobs.items()
            }

    def expire_access_tokens(self, hub_id: int) -> int:
        """Every access token of the account expires now (401
        EXPIRED_AUTHENTICATION from then on); return how many there were."""
        return self.tokens.expire_access(self.store.account(hub_id).hub_id)

    def token_calls(self, hub_id: int | None) -> dict[str, int]:
        """Token endpoint calls for the account, by grant type
        (`authorization_code`, `refresh_token`, `other`) plus `introspect` and
        `revoke`; failed calls count too. `None`: calls naming no known portal."""
        return self.tokens.call_counts(hub_id)

    def token_call_log(self, hub_id: int | None) -> list[dict[str, Any]]:
        """Each token endpoint call of the account: at, endpoint, version,
        grant_type, status."""
        return self.tokens.call_log(hub_id)

    def flush_search_index(self, hub_id: int) -> None:
        """Let search catch up with every write of the account now."""
        self.store.flush_index(self.store.account(hub_id))
