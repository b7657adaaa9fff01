"""The Uspacy app registration: rendered from the deployment's base URL with the
callback and settings URLs the app serves, names and descriptions in English
and Ukrainian, refused for unusable URLs, and the checked-in copy in
manifest/uspacy/ never drifts from a fresh render."""

import json
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner

from app.cli import main
from app.crm.uspacy import manifest
from app.crm.uspacy.manifest import ManifestError, registration
from tests.crm_app.uspacy.conftest import ServedUspacy

REPO = Path(__file__).resolve().parents[3]
BASE = "https://scores.acme-example.com"


def test_registration_points_uspacy_at_our_routes() -> None:
    document = registration(BASE)
    assert document["code"] == "conturs"
    assert document["callback_url"] == f"{BASE}/uspacy/v1"
    assert document["settings_url"] == f"{BASE}/uspacy/v1/settings"
    # Uspacy appends these to the callback URL; the app serves exactly them.
    assert manifest.INSTALL_PATH == "/uspacy/v1/portals/install"
    assert "/uspacy/v1/portals/uninstall" in manifest.UNINSTALL_PATHS
    locales = {item["locale"]: item for item in document["localized_data"]}
    assert set(locales) == {"en-US", "uk"}
    for item in locales.values():
        assert item["name"] and item["short_description"] and item["description"]
    assert "лід" in locales["uk"]["description"]


def test_the_served_app_answers_the_registered_urls(served: ServedUspacy) -> None:
    document = registration(served.base_url)
    install = requests.post(document["callback_url"] + "/portals/install", timeout=5)
    settings = requests.get(document["settings_url"], timeout=5)
    # Both exist and refuse an unsigned caller (not 404 / 405).
    assert install.status_code == 401 and settings.status_code == 401


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://scores.acme-example.com",
        "http://scores.acme-example.com",
        "https://scores.acme-example.com/",
        "https://scores.acme-example.com?x=1",
        "https://user:pw@scores.acme-example.com",
        "https://1.2.3.4",
        "https://bad_host",
    ],
)
def test_unusable_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ManifestError):
        registration(url)


def test_cli_renders_into_a_directory(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main,
        ["manifest", "uspacy", "--base-url", BASE, "--out", str(tmp_path)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "app.json").read_text(encoding="utf-8"))
    assert document == registration(BASE)
    assert BASE in (tmp_path / "README.md").read_text(encoding="utf-8")
    refused = CliRunner().invoke(
        main, ["manifest", "uspacy", "--base-url", "http://x.example.com"]
    )
    assert refused.exit_code == 1 and "https" in refused.output


def test_the_checked_in_registration_equals_a_fresh_render(tmp_path: Path) -> None:
    manifest.main_manifest(manifest.DEFAULT_BASE_URL, tmp_path)
    checked_in = REPO / "manifest" / "uspacy"
    for name in ("app.json", "README.md"):
        assert (checked_in / name).read_bytes() == (tmp_path / name).read_bytes(), (
            "manifest/uspacy/ is stale: run "
            f"`conturs manifest uspacy --base-url {manifest.DEFAULT_BASE_URL}`"
        )
