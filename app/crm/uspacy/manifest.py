"""The Uspacy app's registration document, rendered for one deployment, and the
paths Uspacy calls the app on.

Uspacy has no self-service developer portal: an app is registered by sending
its support team a document (reference/uspacy.md §5) with the app's `code`, the
`callback_url` Uspacy appends `/portals/install` and `/portals/uninstall` to,
the price flag, the SNS subscription URL (none: webhooks come per portal), and
names and descriptions per locale; Uspacy answers with the client id and
secret. We add the `./settings` entry (the app's settings page) for the team to
wire up. `conturs manifest uspacy --base-url URL` writes `app.json` and a README
into `manifest/uspacy/`; rendering is deterministic and leaves unchanged files
alone.
"""

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from app.crm.uspacy.config import checked_domain

APP_CODE = "conturs"
# VERIFIED (§5): the callback URL is `https://host/{code}/v1` in Uspacy's template.
CALLBACK_PATH = "/uspacy/v1"
INSTALL_PATH = CALLBACK_PATH + "/portals/install"
# VERIFIED (§5): the template routes `uninstall`; the knowledge base writes
# `uinstall`. Both are served.
UNINSTALL_PATHS = (
    CALLBACK_PATH + "/portals/uninstall",
    CALLBACK_PATH + "/portals/uinstall",
)
SETTINGS_PATH = CALLBACK_PATH + "/settings"
# One URL per portal: this prefix plus the portal's secret webhook key.
WEBHOOKS_PREFIX = CALLBACK_PATH + "/webhooks/"
SUPPORT_EMAIL = "support@conturs.io"
DEFAULT_BASE_URL = "https://app.conturs.io"
DEFAULT_OUT_DIR = Path("manifest/uspacy")

# VERIFIED (§5): locales Uspacy takes are uk, en-US, pt-BR, pl, es-ES, de.
LOCALIZED = (
    {
        "locale": "en-US",
        "name": "Conturs Lead Scoring",
        "short_description": (
            "Scores every lead and contact 0-100 and says why: Hot, Warm, Cool or Cold."
        ),
        "description": (
            "<p>Conturs scores each lead and contact from 0 to 100 with ten "
            "explainable factors and writes the score, a Hot/Warm/Cool/Cold label "
            "and the reasons to fields on the card.</p><p>The weights learn from "
            "your own won and lost deals.</p>"
        ),
    },
    {
        "locale": "uk",
        "name": "Conturs — оцінка лідів",
        "short_description": (
            "Оцінює кожен лід і контакт від 0 до 100 і пояснює чому: гарячий, "
            "теплий, прохолодний чи холодний."
        ),
        "description": (
            "<p>Conturs оцінює кожен лід і контакт від 0 до 100 за десятьма "
            "зрозумілими чинниками й записує оцінку, мітку та пояснення в поля "
            "картки.</p><p>Ваги навчаються на ваших власних виграних і програних "
            "угодах.</p>"
        ),
    },
)

MAX_URL_LENGTH = 200
_PATH = re.compile(r"^(/[A-Za-z0-9._~-]+)*$")


class ManifestError(ValueError):
    """A setting Uspacy could not use in the registration."""


def check_base_url(url: str) -> str:
    """The deployment's public URL: https (http only for localhost), a host
    name, no trailing slash, query, fragment or credentials."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise ManifestError(f"the base URL must be 1 to {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number
    except ValueError as error:
        raise ManifestError(f"the base URL is not a URL: {url} ({error})") from None
    if parts.scheme not in ("https", "http") or "@" in parts.netloc:
        raise ManifestError(f"the base URL must be https://HOST[/PATH]: {url}")
    if parts.query or parts.fragment or url.endswith(("?", "#", "/")):
        raise ManifestError(f"the base URL may not end in / ? or #: {url}")
    if not _PATH.match(parts.path):
        raise ManifestError(f"the base URL has an odd path: {url}")
    host = parts.hostname or ""
    if parts.scheme == "http" and host != "localhost":
        raise ManifestError(f"the base URL must be https (http for localhost): {url}")
    if host != "localhost":
        try:
            checked_domain(host)
        except ValueError:
            raise ManifestError(f"the base URL has no valid host name: {url}") from None
        if host.rpartition(".")[2].isdigit():  # 1.2.3.4 is no host name
            raise ManifestError(f"the base URL needs a host name, not an IP: {url}")
    return url


def registration(base_url: str) -> dict[str, Any]:
    """`app.json`: the document Uspacy registers the app from."""
    base_url = check_base_url(base_url)
    return {
        "code": APP_CODE,
        "callback_url": base_url + CALLBACK_PATH,
        # The app is listed free of charge in the marketplace.
        "price": "false",
        "sns_subscription_url": None,
        "settings_url": base_url + SETTINGS_PATH,
        # Each locale's `logo` (240x240 px) goes with the mail as an image.
        "localized_data": [dict(texts) for texts in LOCALIZED],
    }


_README = """\
# Conturs — Uspacy app registration

Rendered for `{base_url}` by `conturs manifest uspacy --base-url {base_url}`.
Do not edit by hand: render again for another deployment with
`conturs manifest uspacy --base-url https://YOUR-HOST [--out DIR]`.

- `app.json` — the registration to send to support@uspacy.com: the app `code`,
  the `callback_url` (Uspacy calls `{callback}/portals/install` and
  `{callback}/portals/uninstall`), the settings page (`settings_url`, the
  `./settings` entry), and names and descriptions in English and Ukrainian.
  Attach the 240x240 px logo to the mail; Uspacy hosts it.

Uspacy answers with a client id and secret: set them as `USPACY_CLIENT_ID` and
`USPACY_CLIENT_SECRET` on the deployment. Each portal's webhooks point at its
own secret URL under `{webhooks}`, created on install; where the portal lets
only its admin add webhooks, the settings page shows the URL to add by hand.
"""


def render_files(base_url: str) -> dict[Path, str]:
    """Every file of the registration, by path relative to the output directory."""
    document = registration(base_url)
    return {
        Path("app.json"): json.dumps(
            document, indent=2, sort_keys=True, ensure_ascii=False
        )
        + "\n",
        Path("README.md"): _README.format(
            base_url=base_url,
            callback=document["callback_url"],
            webhooks=base_url + WEBHOOKS_PREFIX,
        ),
    }


def main_manifest(base_url: str, out_dir: Path = DEFAULT_OUT_DIR) -> list[Path]:
    """`conturs manifest uspacy`: write the registration for `base_url` into
    `out_dir`; ManifestError (a ValueError) before anything is written."""
    files = render_files(base_url)
    written = []
    for relative, text in files.items():
        path = Path(out_dir) / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        if not path.exists() or path.read_bytes() != data:
            temporary = path.with_name(f".{path.name}.tmp")
            temporary.write_bytes(data)
            temporary.replace(path)  # never a half-written file
        written.append(path)
    return written
