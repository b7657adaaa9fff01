"""The HubSpot developer project of the marketplace app, rendered for one deployment.

HubSpot's developer platform (2026.03) describes an app as a project: an
`hsproject.json` and, under `src/app/`, an `app-hsmeta.json` (name, OAuth
distribution, redirect URL, scopes, support) and one `*-hsmeta.json` per feature
(here the webhooks). The redirect and webhook URLs must be this deployment's, so
the files are rendered from its public base URL; `hs project upload` in the
output directory publishes them. Beside them go a README and `listing.json`, the
URLs the marketplace listing form asks for. Rendering is deterministic (sorted
keys, 2-space indent, trailing newline) and unchanged files are left untouched.
"""

import ipaddress
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The authorize URL must ask for exactly the scopes the app declares, or HubSpot
# refuses the consent screen: both read the one list in config.py.
from app.crm.hubspot.config import OPTIONAL_SCOPES, REQUIRED_SCOPES
from app.crm.hubspot.subscriptions import SUBSCRIPTIONS, Subscription

PLATFORM_VERSION = "2026.03"
# UIDs identify the app and its features across uploads: changing one makes
# HubSpot treat it as a new component, so they are fixed here.
APP_UID = "conturs_app"
WEBHOOKS_UID = "conturs_webhooks"
PROJECT_NAME = "conturs-hubspot"

APP_NAME = "Conturs Lead Scoring"
APP_DESCRIPTION = (
    "Scores every contact 0-100 with ten explainable factors and writes the score, "
    "a Hot/Warm/Cool/Cold label and the reasons to contact properties. Weights "
    "learn from the account's own closed deals."
)
SUPPORT_EMAIL = "support@conturs.io"
# The base URL of the copy kept in the repository (manifest/hubspot/).
DEFAULT_BASE_URL = "https://app.conturs.io"
DEFAULT_OUT_DIR = Path("manifest/hubspot")

OAUTH_CALLBACK_PATH = "/hubspot/oauth/callback"
WEBHOOKS_PATH = "/hubspot/webhooks"
DOCUMENTATION_PATH = "/docs/hubspot-setup"
PRIVACY_PATH = "/privacy"
TERMS_PATH = "/terms"

MAX_URL_LENGTH = 200
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[a-z]{2,24}$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")
# Path segments of a base URL served under a prefix, e.g. `/conturs`.
_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


class ManifestError(ValueError):
    """A setting HubSpot would refuse in a developer project."""


def check_base_url(url: str, what: str = "the base URL") -> str:
    """The deployment's public URL as HubSpot accepts it in redirect and webhook
    URLs: https (http only for localhost), a host name and not an IP address, no
    trailing slash, query, fragment or credentials."""
    if not isinstance(url, str) or not url:
        raise ManifestError(f"{what} is empty")
    if len(url) > MAX_URL_LENGTH or not url.isascii():
        raise ManifestError(f"{what} must be ASCII, ≤ {MAX_URL_LENGTH} characters")
    if not url.startswith(("https://", "http://")):
        raise ManifestError(f"{what} must be https (http only for localhost): {url}")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as error:
        raise ManifestError(f"{what} is not a URL: {url} ({error})") from error
    if "@" in parts.netloc:
        raise ManifestError(f"{what} may not carry a user name or password")
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ManifestError(f"{what} may not have a query or fragment: {url}")
    if url.endswith("/") or not _PATH.match(parts.path):
        raise ManifestError(f"{what} may not end with '/' or have an odd path: {url}")
    host = parts.hostname or ""
    if _is_ip_address(host):
        raise ManifestError(f"HubSpot refuses IP addresses; use a host name: {url}")
    if not host or not all(_LABEL.match(label) for label in host.split(".")):
        raise ManifestError(f"{what} has no valid host name: {url}")
    if parts.scheme == "http" and host != "localhost":
        raise ManifestError(f"{what} must be https (http only for localhost): {url}")
    return url


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        # Browsers also read `127.1` or `2130706433` as addresses: a name whose
        # last label is a number is no host name.
        return host.rpartition(".")[2].isdigit()
    return True


@dataclass(frozen=True, slots=True)
class AppListing:
    """What the installing user sees of the app: name, description, support."""

    name: str = APP_NAME
    description: str = APP_DESCRIPTION
    support_email: str = SUPPORT_EMAIL
    # Defaults to the support section of the setup guide.
    support_url: str | None = None
    support_phone: str | None = None

    def __post_init__(self) -> None:
        for what, text, limit in (
            ("the app name", self.name, 100),
            ("the description", self.description, 1000),
        ):
            if not isinstance(text, str) or not text.strip() or len(text) > limit:
                raise ManifestError(f"{what} must be 1 to {limit} characters")
        email = self.support_email
        if not isinstance(email, str) or len(email) > 254 or not _EMAIL.match(email):
            raise ManifestError(f"not an email address: {email!r}")
        if self.support_url is not None:
            check_base_url(self.support_url, "the support URL")
        phone = self.support_phone
        if phone is not None and not (isinstance(phone, str) and _PHONE.match(phone)):
            raise ManifestError(
                f"the support phone must be like +18005550100: {phone!r}"
            )


DEFAULT_LISTING = AppListing()


def app_config(base_url: str, listing: AppListing = DEFAULT_LISTING) -> dict[str, Any]:
    """`src/app/app-hsmeta.json`: an OAuth app for the marketplace."""
    base_url = check_base_url(base_url)
    documentation_url = base_url + DOCUMENTATION_PATH
    support = {
        "supportEmail": listing.support_email,
        "documentationUrl": documentation_url,
        "supportUrl": listing.support_url or documentation_url + "#support",
    }
    if listing.support_phone:
        support["supportPhone"] = listing.support_phone
    return {
        "uid": APP_UID,
        "type": "app",
        "config": {
            "name": listing.name,
            "description": listing.description,
            "distribution": "marketplace",
            "auth": {
                "type": "oauth",
                "redirectUrls": [base_url + OAUTH_CALLBACK_PATH],
                "requiredScopes": list(REQUIRED_SCOPES),
                "optionalScopes": list(OPTIONAL_SCOPES),
                "conditionallyRequiredScopes": [],
            },
            # No cards or settings page call the backend from inside HubSpot yet.
            "permittedUrls": {"fetch": [], "iframe": [], "img": []},
            "support": support,
        },
    }


def _list_name(sub: Subscription) -> str:
    # The component's three lists: `crmObjects` for the generic `object.*`
    # format, `legacyCrmObjects` for classic `contact.*`/`deal.*` types and
    # `hubEvents` for `contact.privacyDeletion`. The classic types are HubSpot's
    # stable webhook event enum (the generic format came as a public beta, and
    # the marketplace refuses beta APIs) and are what deliveries name, so each
    # event matches its subscription's key. Placing privacyDeletion in hubEvents
    # follows HubSpot's component examples, not yet confirmed by a live upload.
    if sub.subscription_type == "contact.privacyDeletion":
        return "hubEvents"
    return "legacyCrmObjects"


def webhooks_config(base_url: str) -> dict[str, Any]:
    """`src/app/webhooks/webhooks-hsmeta.json`: where HubSpot sends events and
    which; every subscription starts active."""
    lists: dict[str, list[dict[str, Any]]] = {}
    for sub in SUBSCRIPTIONS:
        entry: dict[str, Any] = {"subscriptionType": sub.subscription_type}
        if sub.property_name:
            entry["propertyName"] = sub.property_name
        entry["active"] = True
        lists.setdefault(_list_name(sub), []).append(entry)
    return {
        "uid": WEBHOOKS_UID,
        "type": "webhooks",
        "config": {
            "settings": {
                "targetUrl": check_base_url(base_url) + WEBHOOKS_PATH,
                # HubSpot's default.
                "maxConcurrentRequests": 10,
            },
            "subscriptions": lists,
        },
    }


def listing_config(
    base_url: str, listing: AppListing = DEFAULT_LISTING
) -> dict[str, str]:
    """`listing.json`: what the marketplace listing form asks for. HubSpot does
    not read this file: app-hsmeta.json has no privacy or terms field."""
    base_url = check_base_url(base_url)
    return {
        "documentationUrl": base_url + DOCUMENTATION_PATH,
        "privacyPolicyUrl": base_url + PRIVACY_PATH,
        "supportEmail": listing.support_email,
        "termsOfServiceUrl": base_url + TERMS_PATH,
    }


_README = """\
# Conturs — HubSpot developer project

Rendered for `{base_url}` by `conturs manifest hubspot --base-url {base_url}`.
Do not edit these files by hand: render them again for another deployment with
`conturs manifest hubspot --base-url https://YOUR-HOST [--out DIR]`.

- `hsproject.json` — the project (platform {platform}).
- `src/app/app-hsmeta.json` — the OAuth app: redirect URL, scopes, support.
- `src/app/webhooks/webhooks-hsmeta.json` — the webhook target URL and the
  subscriptions.
- `listing.json` — not read by HubSpot: the privacy policy, terms and
  documentation URLs to enter in the marketplace listing.

Publish with the HubSpot CLI from this directory: `hs project upload`.
The setup guide the app links to (`documentationUrl`) is `docs/hubspot-setup.md`.
The client id and secret are on the app's Auth tab; set them as
`HUBSPOT_CLIENT_ID` and `HUBSPOT_CLIENT_SECRET` on the deployment.
"""


def render_files(
    base_url: str, listing: AppListing = DEFAULT_LISTING
) -> dict[Path, str]:
    """Every file of the project, by path relative to the project directory."""
    base_url = check_base_url(base_url)
    project = {
        "name": PROJECT_NAME,
        "srcDir": "src",
        "platformVersion": PLATFORM_VERSION,
    }
    documents = {
        Path("hsproject.json"): project,
        Path("src/app/app-hsmeta.json"): app_config(base_url, listing),
        Path("src/app/webhooks/webhooks-hsmeta.json"): webhooks_config(base_url),
        Path("listing.json"): listing_config(base_url, listing),
    }
    files = {
        path: json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for path, doc in documents.items()
    }
    files[Path("README.md")] = _README.format(
        base_url=base_url, platform=PLATFORM_VERSION
    )
    return files


def render_manifest(
    base_url: str,
    out_dir: Path,
    *,
    app_name: str = APP_NAME,
    description: str = APP_DESCRIPTION,
    support_email: str = SUPPORT_EMAIL,
    support_url: str | None = None,
    support_phone: str | None = None,
) -> list[Path]:
    """Write the developer project for `base_url` into `out_dir`; return the
    paths of its files. Files whose content is already right are not rewritten;
    ManifestError (a ValueError) before anything is written on a bad setting."""
    listing = AppListing(
        app_name, description, support_email, support_url, support_phone
    )
    files = render_files(base_url, listing)
    paths = []
    for relative, text in files.items():
        path = Path(out_dir) / relative
        _write_if_changed(path, text)
        paths.append(path)
    return paths


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed, so an interrupted render never
    # leaves a half-written file for `hs project upload` to publish.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def main_manifest(base_url: str, out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """`conturs manifest hubspot`: render the project for this deployment's URL
    with the default app settings; ManifestError (a ValueError) on a bad URL."""
    return render_manifest(base_url, Path(out_dir))
