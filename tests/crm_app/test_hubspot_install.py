"""Installing the HubSpot app end to end, over real HTTP to the HubSpot sandbox:
the consent page, the callback, the `conturs` properties, tokens sealed and
refreshed once for many callers, uninstalls found without traffic, disconnect."""

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.container import services_of
from app.crypto import SecretBox, SecretUnreadableError, generate_key
from app.models import Client, CrmAccount
from app.sandbox import HubSpotSandbox
from app.services.crm.tokens import TokenRegistry
from tests.conftest import TEST_ENCRYPTION_KEY, close_app
from tests.crm_app.conftest import TEST_BASE_URL, app_on, started_sandbox

HUB = 48213377
BASE = TEST_BASE_URL
OUR_PROPERTIES = {
    "conturs_score",
    "conturs_label",
    "conturs_top_factors",
    "conturs_explanation",
    "conturs_method",
    "conturs_scored_at",
}


@pytest.fixture
def hubspot() -> Iterator[HubSpotSandbox]:
    sandbox = started_sandbox()
    sandbox.create_account(HUB)
    yield sandbox
    sandbox.stop()


def _app(database_url: str, instance: Path, hubspot: HubSpotSandbox, **extra) -> Flask:
    return app_on(database_url, instance, hubspot, **extra)


@pytest.fixture
def app(database_url: str, tmp_path: Path, hubspot: HubSpotSandbox) -> Iterator[Flask]:
    application = _app(database_url, tmp_path / "instance", hubspot)
    yield application
    close_app(application)


@pytest.fixture
def web(app: Flask) -> FlaskClient:
    return app.test_client()


def _consent(web: FlaskClient, hubspot: HubSpotSandbox, decision: str = "allow"):
    """Click through: our install link, HubSpot's consent page, back to us."""
    start = web.get("/hubspot/install")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    assert authorize.startswith(f"{hubspot.base_url}/oauth/authorize?")
    redirect = hubspot.approve(authorize, HUB, "owner@acme-robotics.com", decision)
    back = urlparse(redirect)
    assert (
        f"{back.scheme}://{back.netloc}{back.path}" == f"{BASE}/hubspot/oauth/callback"
    )
    return back.path + "?" + back.query


def _install(web: FlaskClient, hubspot: HubSpotSandbox):
    callback = _consent(web, hubspot)
    landed = web.get(callback)
    assert landed.status_code == 302, landed.text
    status = web.get(landed.headers["Location"])
    assert status.status_code == 200, status.text
    return callback, status.text


def _our_properties(hubspot: HubSpotSandbox, token: str) -> dict[str, dict]:
    listed = requests.get(
        f"{hubspot.base_url}/crm/v3/properties/contacts",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    ).json()["results"]
    return {p["name"]: p for p in listed if p["name"].startswith("conturs_")}


def _accounts(app: Flask) -> list[CrmAccount]:
    with services_of(app).sessions() as session:
        return list(session.scalars(select(CrmAccount)))


def test_install_creates_the_group_and_six_properties_once(app, web, hubspot):
    _callback, page = _install(web, hubspot)
    assert "Conturs is connected" in page and str(HUB) in page
    token = hubspot.mint_tokens(HUB)["access_token"]
    first = _our_properties(hubspot, token)
    assert set(first) == OUR_PROPERTIES
    assert all(p["groupName"] == "conturs" for p in first.values())
    assert all(p["description"] for p in first.values())
    [account] = _accounts(app)
    assert account.account_id == str(HUB) and account.status == "installed"
    assert "crm.schemas.contacts.write" in account.scope_set

    _install(web, hubspot)  # installed again: nothing new, same client
    again = _our_properties(hubspot, token)
    assert {n: p["updatedAt"] for n, p in again.items()} == {
        n: p["updatedAt"] for n, p in first.items()
    }
    [same] = _accounts(app)
    assert same.client_id == account.client_id


def test_the_client_profile_starts_from_the_installers_domain(app, web, hubspot):
    _install(web, hubspot)
    [account] = _accounts(app)
    with services_of(app).sessions() as session:
        client = session.get(Client, account.client_id)
        assert client.email.endswith("@acme-robotics.com")
        assert "owner@" not in client.email


def test_a_refused_consent_stores_nothing(app, web, hubspot):
    callback = _consent(web, hubspot, decision="cancel")
    answer = web.get(callback)
    assert answer.status_code == 400
    assert "cancelled" in answer.text
    assert _accounts(app) == []


def test_a_reused_state_is_refused(app, web, hubspot):
    callback = _consent(web, hubspot)
    assert web.get(callback).status_code == 302
    again = web.get(callback)
    assert again.status_code == 400 and "already used" in again.text
    assert len(_accounts(app)) == 1


def test_a_tampered_state_stores_nothing(app, web, hubspot):
    callback = _consent(web, hubspot)
    path, _, query = callback.partition("?")
    params = {k: v[0] for k, v in parse_qs(query).items()}
    params["state"] = params["state"][:-2] + (
        "AA" if params["state"][-2:] != "AA" else "BB"
    )
    answer = web.get(path, query_string=params)
    assert answer.status_code == 400
    assert _accounts(app) == []


def test_the_status_page_needs_its_signed_link(app, web, hubspot):
    _install(web, hubspot)
    assert web.get(f"/hubspot/accounts/{HUB}").status_code == 403
    assert web.get(f"/hubspot/accounts/{HUB}?link=forged").status_code == 403


def test_tokens_are_sealed_and_survive_a_key_rotation(
    database_url, tmp_path, app, web, hubspot
):
    _install(web, hubspot)
    [account] = _accounts(app)
    hubspot_app = services_of(app).hubspot
    token = hubspot_app.tokens.of(account.id).current()
    assert token not in account.access_token and token not in account.refresh_token
    with pytest.raises(SecretUnreadableError):
        SecretBox([generate_key()]).decrypt(account.access_token)

    rotated = _app(
        database_url,
        tmp_path / "rotated",
        hubspot,
        TOKEN_ENCRYPTION_KEYS=[generate_key(), TEST_ENCRYPTION_KEY],
    )
    try:
        fresh = services_of(rotated).hubspot
        assert fresh.tokens.of(account.id).current() == token
        assert fresh.client(account.id).ensure_fields().created == []
    finally:
        close_app(rotated)


def test_fifty_callers_at_expiry_cause_one_refresh(app, web, hubspot):
    _install(web, hubspot)
    [account] = _accounts(app)
    services = services_of(app)
    with services.sessions.begin() as session:
        session.execute(
            update(CrmAccount).values(token_expires_at=account.installed_at)
        )
    before = hubspot.token_calls(HUB).get("refresh_token", 0)
    hubspot_app = services.hubspot
    hubspot_app.tokens.forget(account.id)  # its cached expiry passed as well
    # Two registries: two processes, each with its own lock and cache.
    registries = [hubspot_app.tokens, TokenRegistry(hubspot_app._account_tokens)]
    seen: list[str] = []
    errors: list[BaseException] = []
    go = threading.Barrier(50)

    def call(registry: TokenRegistry) -> None:
        go.wait()
        try:
            seen.append(registry.of(account.id).current())
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [
        threading.Thread(target=call, args=(registries[i % 2],)) for i in range(50)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors, errors
    assert len(seen) == 50 and len(set(seen)) == 1
    assert hubspot.token_calls(HUB).get("refresh_token", 0) - before == 1


def test_an_uninstall_in_hubspot_is_found_without_traffic(app, web, hubspot):
    _install(web, hubspot)
    hubspot_app = services_of(app).hubspot
    assert hubspot_app.check_uninstalls() == []
    hubspot.uninstall(HUB)
    assert hubspot_app.check_uninstalls() == [str(HUB)]
    [account] = _accounts(app)
    assert account.status == "uninstalled"
    assert account.access_token is None and account.refresh_token is None


def test_a_reinstall_before_the_purge_resumes_and_after_it_starts_over(
    app, web, hubspot
):
    _install(web, hubspot)
    [first] = _accounts(app)
    hubspot.uninstall(HUB)
    hubspot_app = services_of(app).hubspot
    hubspot_app.check_uninstalls()
    assert hubspot_app.purge_uninstalled(purge_days=30) == []
    _install(web, hubspot)
    [resumed] = _accounts(app)
    assert resumed.client_id == first.client_id and resumed.status == "installed"

    hubspot.uninstall(HUB)
    hubspot_app.check_uninstalls()
    assert hubspot_app.purge_uninstalled(purge_days=0) == [str(HUB)]
    assert _accounts(app) == []
    with services_of(app).sessions() as session:
        assert session.get(Client, first.client_id) is None


def test_disconnect_uninstalls_in_hubspot_and_deletes_the_data(app, web, hubspot):
    _install(web, hubspot)
    [account] = _accounts(app)
    token = services_of(app).hubspot.tokens.of(account.id).current()
    services_of(app).hubspot.disconnect(str(HUB))
    assert _accounts(app) == []
    refused = requests.get(
        f"{hubspot.base_url}/crm/v3/objects/contacts",
        headers={"Authorization": f"Bearer {token}"},
        timeout=5,
    )
    assert refused.status_code == 401
