"""What the adapter takes Uspacy's REST API to be, in one place: every path, and
every point Uspacy does not document and we had to guess (marked ASSUMED, with
why), so that learning the real behaviour is a change here only.

Source: reference/uspacy.md (Uspacy's SDKs, app templates and knowledge base);
§ numbers below point into it. VERIFIED points are stated in Uspacy's own code.
"""

from datetime import UTC, datetime

# -- hosts and paths ---------------------------------------------------------

# VERIFIED (§1): every portal is its own host, `https://{domain}`.
BASE_URL_TEMPLATE = "https://{domain}"
DOMAIN_PLACEHOLDER = "{domain}"

# VERIFIED (§1): refresh with `Bearer <refreshToken>` and an empty body.
REFRESH_PATH = "/auth/v1/auth/refresh_token"
# VERIFIED (§2): the app's bot user; its `id` marks the changes we made.
ME_PATH = "/company/v1/users/me/"
# VERIFIED (§2): a trailing `/` always goes before an id (the SDK's regression
# `/entities/contacts5` shows why), so every path here ends with one.
RECORDS_PATH = "/crm/v1/entities/{kind}/"
RECORD_PATH = "/crm/v1/entities/{kind}/{record_id}/"
FIELDS_PATH = "/crm/v1/entities/{kind}/fields/"
# VERIFIED (§6): a bare array of funnels with their stages nested.
FUNNELS_PATH = "/crm/v1/entities/{kind}/funnel/"
# VERIFIED (§4): the outgoing webhooks API.
WEBHOOKS_PATH = "/company/v1/webhooks/"
WEBHOOK_PATH = "/company/v1/webhooks/{webhook_id}/"
WEBHOOK_TOGGLE_PATH = "/company/v1/webhooks/{webhook_id}/toggle/"

# -- records and paging ------------------------------------------------------

# VERIFIED (§2): Laravel paging with `page` (1-based) and `list` (page size).
PAGE_PARAM = "page"
SIZE_PARAM = "list"
# ASSUMED (§2): no maximum page size is documented; 100 is what integrations
# that run against real portals ask for.
MAX_PAGE_SIZE = 100
# ASSUMED (§2): `sort_by[<field>]` is verified for `created_at`; sorting by `id`
# is assumed to work the same way. Ascending ids keep pages stable while new
# records arrive during a backfill (they land on the last page); the client
# checks each page is in that order before relying on it.
SORT_PARAMS = {"sort_by[id]": "asc"}
# ASSUMED (§2): one record is a bare object; a `{data: {...}}` wrapper, which
# other Uspacy services use, is accepted too.
WRAPPER_KEY = "data"
# VERIFIED (§2): `created_at` and `updated_at` are unix SECONDS.
CREATED_KEY = "created_at"
UPDATED_KEY = "updated_at"

# -- rate limits and failures --------------------------------------------------

# ASSUMED (§1, §9.2): Uspacy publishes no limit. Its services are Laravel, whose
# stock API throttle is 60 calls a minute per user in a fixed window; the app is
# one user on each portal, so that is one budget per portal.
RATE_CALLS = 60
RATE_WINDOW_SECONDS = 60.0
# A 429 that names no wait (no Retry-After, no X-RateLimit-Reset): a full window.
RATE_LIMIT_WAIT_SECONDS = RATE_WINDOW_SECONDS
# VERIFIED (§1) for the refresh call; ASSUMED for every other call: a 403 with
# this text means the portal's plan no longer admits the app's user, which ends
# the session like a revoked install. Any other 403 is a missing permission
# (e.g. webhooks, which only admins may manage).
REVOKED_403_MARKERS = ("tariff is exceeded",)
# VERIFIED (§1): Laravel error bodies are `{"errors": {key: [msg]}, "status"}`;
# some services send `{"message": "..."}` instead.
ERRORS_KEY = "errors"
MESSAGE_KEY = "message"

# -- tokens --------------------------------------------------------------------

# VERIFIED (§1): the answer is `{jwt, refreshToken, expireInSeconds}`; the JS
# typings spell it `expiresInSeconds`, so both are read.
ACCESS_KEY = "jwt"
REFRESH_KEY = "refreshToken"
EXPIRES_KEYS = ("expireInSeconds", "expiresInSeconds")
# VERIFIED (§5): the install callback's body.
INSTALL_ACCESS_KEY = "token"
INSTALL_REFRESH_KEY = "refresh_token"
INSTALL_EXPIRY_KEY = "expiry_date"

# -- custom fields -------------------------------------------------------------

# VERIFIED (§3): a field is created with `{name, code, type, ...}`; these are
# the flags the SDKs send with it.
FIELD_FLAGS = {
    "required": False,
    "editable": True,
    "show": True,
    "hidden": False,
    "multiple": False,
}
# ASSUMED (§3): `name` is one string; no per-locale names are known, so a portal
# gets its fields named in one language (see field_specs.py).
# UNVERIFIED (§3): whether the server keeps the requested `code`. The code it
# returns is kept; an existing field is recognised by its code or by one of our
# names, so a server that renamed the code does not get a second field.
# ASSUMED (§9.2): creating a code that exists answers 422 naming `code`.
DUPLICATE_CODE_KEY = "code"
DUPLICATE_STATUS = 422
# ASSUMED (§2, §3): a `datetime` field is written and read as unix seconds,
# like `created_at` (reads also accept ISO text; see values.seconds_of).
# VERIFIED (§2): a list field is written with one option `value` and read back
# as `[{title, value, color, sort, selected}]`.
SELECTED_KEY = "selected"


def datetime_field_value(moment: datetime) -> int:
    """A datetime as a Uspacy `datetime` field takes it (naive = UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


# -- funnels and outcomes ------------------------------------------------------

# VERIFIED (§6): system stage codes; a record also carries `kanban_status`
# (IN_WORK / SUCCESS / FAIL), which decides when its stage is not found.
STAGE_CODE_KEY = "stage_code"
STAGE_KEY = "kanban_stage_id"
FUNNEL_KEY = "funnel_id"
STATUS_KEY = "kanban_status"
WON_CODE = "SUCCESS"
LOST_CODE = "FAIL"
NEW_CODE = "NEW"
IN_WORK_CODE = "IN_WORK"
# VERIFIED (§2): a lead carries `converted` and its linked `contacts`.
# ASSUMED: converting a lead sets `converted` and lists the contact it became
# under `contacts` (no source shows a conversion call or its result).
CONVERTED_KEY = "converted"
LEAD_CONTACTS_KEY = "contacts"
# UNVERIFIED (§2): `closed_at` is seen on leads; assumed on deals too (absent:
# the deal's close time is unknown).
CLOSED_KEY = "closed_at"

# -- outgoing webhooks -----------------------------------------------------------

# ASSUMED (§4, §9.2): the event codes of `events[]` follow Uspacy's internal
# notification model (service `crm`, type `entity_crm`, actions create | update
# | delete | updateStage); no source lists the exact strings.
WEBHOOK_SERVICE = "crm"
WEBHOOK_TYPE = "entity_crm"
# (table, actions) we listen to: leads and contacts created or changed (score
# them), deals moved to another stage (an outcome). Our own PATCH of a score
# fires `update` too: the services skip events whose `user_id` is the app's.
WEBHOOK_EVENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("leads", ("create", "update")),
    ("contacts", ("create", "update")),
    ("deals", ("updateStage",)),
)
# With lead outcomes: leads moved in their funnel (a stage move is not an
# `update`), listed on their own so a webhook made without them is told apart.
OUTCOME_WEBHOOK_EVENTS = (*WEBHOOK_EVENTS, ("leads", ("updateStage",)))
# ASSUMED (§9.3): a new webhook works only after the validation link it posts
# to us is fetched; the link carries its own token and needs no Bearer. We
# fetch it only on the portal's own host.
WEBHOOK_NAME = "Conturs lead scoring"
