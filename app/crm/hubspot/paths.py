"""Every HubSpot host, path and API version the app calls, in one place, so a
move to a newer dated version is a change here only.

The CRM object, property and pipeline calls go through hubspot-api-client 12,
which builds the `/crm/v3/...` paths itself; `CRM_SDK_VERSION` names that version
so it is written down where the others are. OAuth and app installs use the
date-versioned endpoints, which the SDK does not know, through `requests`.
"""

API_BASE_URL = "https://api.hubapi.com"
AUTHORIZE_URL = "https://app.hubspot.com/oauth/authorize"

# v1 OAuth is switched off on 2027-02-16; 2026-03 is supported at least 18 months.
OAUTH_VERSION = "2026-03"
TOKEN_PATH = f"/oauth/{OAUTH_VERSION}/token"
INTROSPECT_PATH = f"/oauth/{OAUTH_VERSION}/token/introspect"
REVOKE_PATH = f"/oauth/{OAUTH_VERSION}/token/revoke"

APPINSTALLS_VERSION = "2026-03"
EXTERNAL_INSTALL_PATH = f"/appinstalls/{APPINSTALLS_VERSION}/external-install"

# What hubspot-api-client 12 calls: /crm/v3/objects/{contacts,companies,deals}
# [/batch/*|/search], /crm/v3/properties/contacts[/groups],
# /crm/v3/pipelines/deals. Unsupported from September 2027.
CRM_SDK_VERSION = "v3"
CONTACTS = "contacts"
DEALS = "deals"
