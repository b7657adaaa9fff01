"""The HubSpot developer project: rendered from the deployment's base URL with the
fields, scopes and subscriptions HubSpot needs, refused for URLs HubSpot refuses,
deterministic, and the checked-in copy in manifest/hubspot/ never drifts."""

import json
from pathlib import Path

import pytest
from flask import Flask, Response, request

from app.crm.hubspot import manifest
from app.crm.hubspot.manifest import ManifestError, render_manifest
from app.crm.hubspot.subscriptions import (
    SUBSCRIPTION_KEYS,
    SUBSCRIPTIONS,
    Purpose,
    Subscription,
    check_subscriptions,
    event_key,
    handler_gaps,
)
from app.sandbox import HubSpotSandbox, ManualClock
from app.sandbox.hubspot.appconfig import AppConfig
from app.sandbox.server import ServerThread

REPO = Path(__file__).resolve().parents[2]
BASE = "https://scores.acme-example.com"
APP = Path("src/app/app-hsmeta.json")
WEBHOOKS = Path("src/app/webhooks/webhooks-hsmeta.json")

# What the app asks for and listens to, as the product needs it.
REQUIRED_SCOPES = [
    "oauth",
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.schemas.contacts.write",
    "crm.objects.deals.read",
]
WATCHED_CONTACT_PROPERTIES = {
    "email",
    "firstname",
    "lastname",
    "phone",
    "company",
    "jobtitle",
    "city",
    "country",
    "industry",
    "hs_email_open",
    "hs_email_click",
    "hs_lead_status",
    "num_associated_deals",
    "notes_last_updated",
    "numemployees",
    "lifecyclestage",
    "hs_email_hard_bounce_reason_enum",
    "hs_sales_email_last_replied",
}
READ_SCOPE = {"contact": "crm.objects.contacts.read", "deal": "crm.objects.deals.read"}


def _load(root: Path, relative: Path) -> dict:
    return json.loads((root / relative).read_text(encoding="utf-8"))


def _entries(webhooks: dict) -> list[tuple[str, dict]]:
    lists = webhooks["config"]["subscriptions"]
    return [(name, entry) for name, items in lists.items() for entry in items]


def _tree(root: Path) -> dict[Path, bytes]:
    return {
        path.relative_to(root): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_render_writes_the_project_for_the_base_url(tmp_path):
    paths = render_manifest(BASE, tmp_path)

    assert {p.relative_to(tmp_path) for p in paths} == set(_tree(tmp_path))
    assert _load(tmp_path, Path("hsproject.json")) == {
        "name": "conturs-hubspot",
        "srcDir": "src",
        "platformVersion": "2026.03",
    }
    app = _load(tmp_path, APP)
    assert (app["type"], app["uid"]) == ("app", "conturs_app")
    config = app["config"]
    assert config["distribution"] == "marketplace"
    assert config["name"] and config["description"]
    assert config["auth"] == {
        "type": "oauth",
        "redirectUrls": [f"{BASE}/hubspot/oauth/callback"],
        "requiredScopes": REQUIRED_SCOPES,
        "optionalScopes": ["crm.objects.companies.read"],
        "conditionallyRequiredScopes": [],
    }
    assert config["permittedUrls"] == {"fetch": [], "iframe": [], "img": []}
    assert config["support"] == {
        "supportEmail": "support@conturs.io",
        "documentationUrl": f"{BASE}/docs/hubspot-setup",
        "supportUrl": f"{BASE}/docs/hubspot-setup#support",
    }
    webhooks = _load(tmp_path, WEBHOOKS)
    assert (webhooks["type"], webhooks["uid"]) == ("webhooks", "conturs_webhooks")
    assert webhooks["config"]["settings"] == {
        "targetUrl": f"{BASE}/hubspot/webhooks",
        "maxConcurrentRequests": 10,
    }
    assert _load(tmp_path, Path("listing.json")) == {
        "documentationUrl": f"{BASE}/docs/hubspot-setup",
        "privacyPolicyUrl": f"{BASE}/privacy",
        "supportEmail": "support@conturs.io",
        "termsOfServiceUrl": f"{BASE}/terms",
    }
    assert f"--base-url {BASE}" in (tmp_path / "README.md").read_text()


def test_subscriptions_are_the_events_the_app_handles(tmp_path):
    render_manifest(BASE, tmp_path)
    entries = _entries(_load(tmp_path, WEBHOOKS))

    for list_name, entry in entries:
        assert entry["active"] is True
        assert set(entry) <= {"subscriptionType", "propertyName", "active"}
        has_property = entry["subscriptionType"].endswith(".propertyChange")
        assert ("propertyName" in entry) == has_property
        expected_list = (
            "hubEvents"
            if entry["subscriptionType"] == "contact.privacyDeletion"
            else "legacyCrmObjects"
        )
        assert list_name == expected_list
    subscribed = [
        (entry["subscriptionType"], entry.get("propertyName")) for _, entry in entries
    ]
    assert len(subscribed) == len(set(subscribed))
    assert set(subscribed) == {
        ("contact.creation", None),
        ("contact.deletion", None),
        ("contact.merge", None),
        ("contact.restore", None),
        ("contact.privacyDeletion", None),
        ("deal.propertyChange", "dealstage"),
        ("deal.associationChange", None),
        ("deal.deletion", None),
        ("deal.restore", None),
        ("deal.merge", None),
        *(("contact.propertyChange", name) for name in WATCHED_CONTACT_PROPERTIES),
    }
    # Every key HubSpot's events will carry is one the handlers are checked against.
    assert {event_key(kind, name) for kind, name in subscribed} == SUBSCRIPTION_KEYS


def test_our_own_and_unchanging_properties_are_never_subscribed(tmp_path):
    render_manifest(BASE, tmp_path)
    names = [
        e.get("propertyName") or "" for _, e in _entries(_load(tmp_path, WEBHOOKS))
    ]
    assert not [name for name in names if name.startswith("conturs_")]
    assert "createdate" not in names

    refused = [
        Subscription("contact", "propertyChange", Purpose.INPUT, "conturs_score"),
        Subscription("contact", "propertyChange", Purpose.INPUT, "hs_lastmodifieddate"),
        Subscription("contact", "propertyChange", Purpose.INPUT, "createdate"),
        Subscription("contact", "propertyChange", Purpose.INPUT),
        Subscription("contact", "creation", Purpose.LIFECYCLE, "email"),
        Subscription("deal", "privacyDeletion", Purpose.PRIVACY),
        Subscription("company", "creation", Purpose.LIFECYCLE),
    ]
    for sub in refused:
        with pytest.raises(ValueError):
            check_subscriptions([sub])
    twice = Subscription("contact", "creation", Purpose.LIFECYCLE)
    with pytest.raises(ValueError, match="twice"):
        check_subscriptions([twice, twice])
    many = [
        Subscription("contact", "propertyChange", Purpose.INPUT, f"custom_{n}")
        for n in range(1001)
    ]
    with pytest.raises(ValueError, match="1000"):
        check_subscriptions(many)


def test_every_subscribed_object_is_readable_with_the_required_scopes(tmp_path):
    render_manifest(BASE, tmp_path)
    scopes = _load(tmp_path, APP)["config"]["auth"]["requiredScopes"]
    for _, entry in _entries(_load(tmp_path, WEBHOOKS)):
        object_type = entry["subscriptionType"].split(".")[0]
        assert READ_SCOPE[object_type] in scopes


def test_handler_gaps_name_both_directions():
    assert not handler_gaps(SUBSCRIPTION_KEYS)
    handled = (SUBSCRIPTION_KEYS - {"contact.merge"}) | {"deal.creation"}
    gaps = handler_gaps(handled)
    assert gaps
    assert gaps.unhandled == {"contact.merge"}
    assert gaps.unsubscribed == {"deal.creation"}
    assert event_key("contact.propertyChange", "email") in SUBSCRIPTION_KEYS
    assert event_key("contact.propertyChange", "conturs_score") not in (
        SUBSCRIPTION_KEYS
    )


def test_rendering_again_is_byte_identical_and_touches_nothing(tmp_path):
    render_manifest(BASE, tmp_path)
    first = _tree(tmp_path)
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}

    render_manifest(BASE, tmp_path)

    assert _tree(tmp_path) == first
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    for relative, data in first.items():
        text = data.decode("utf-8")
        assert text.endswith("\n") and not text.endswith("\n\n")
        if relative.suffix == ".json":
            canonical = json.dumps(json.loads(text), indent=2, sort_keys=True)
            assert text == canonical + "\n"


def test_a_changed_file_is_rendered_back(tmp_path):
    render_manifest(BASE, tmp_path)
    pristine = _tree(tmp_path)
    (tmp_path / WEBHOOKS).write_text('{"edited": true}\n')
    (tmp_path / APP).unlink()

    render_manifest(BASE, tmp_path)

    assert _tree(tmp_path) == pristine


def test_another_base_url_changes_only_its_urls(tmp_path):
    one, other = tmp_path / "one", tmp_path / "other"
    render_manifest(BASE, one)
    render_manifest("http://localhost:8082", other)
    for relative, data in _tree(one).items():
        swapped = data.decode().replace(BASE, "http://localhost:8082")
        assert (other / relative).read_text() == swapped


@pytest.mark.parametrize(
    "url",
    [
        "",
        "app.conturs.io",
        "ftp://app.conturs.io",
        "http://app.conturs.io",
        "HTTPS://app.conturs.io",
        "https://app.conturs.io/",
        "https://app.conturs.io/conturs/",
        "https://app.conturs.io//x",
        "https://app.conturs.io?x=1",
        "https://app.conturs.io#top",
        "https://user:secret@app.conturs.io",
        "https://app.conturs.io:port",
        "https://app conturs.io",
        " https://app.conturs.io",
        "https://-app.conturs.io",
        "https://app.cönturs.io",
        "https://",
        "https://127.0.0.1",
        "http://127.0.0.1:8082",
        "https://10.0.0.5:8443",
        "https://[::1]:8082",
        "https://127.1",
        "https://2130706433",
        "https://" + "a" * 64 + ".io",
        "https://" + ".".join(["a" * 63] * 4) + ".io",
    ],
)
def test_urls_hubspot_refuses_are_refused_before_anything_is_written(tmp_path, url):
    with pytest.raises(ManifestError):
        render_manifest(url, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost",
        "http://localhost:8082",
        "https://localhost:8443",
        "https://app.conturs.io:8443",
        "https://scores.acme-example.com/conturs",
    ],
)
def test_urls_hubspot_accepts_render(tmp_path, url):
    render_manifest(url, tmp_path)
    auth = _load(tmp_path, APP)["config"]["auth"]
    assert auth["redirectUrls"] == [f"{url}/hubspot/oauth/callback"]
    # The emulated HubSpot checks redirect URLs the way HubSpot's Auth tab does.
    AppConfig(redirect_urls=auth["redirectUrls"])


@pytest.mark.parametrize(
    "settings",
    [
        {"support_email": "not-an-address"},
        {"support_email": "two@@conturs.io"},
        {"support_phone": "call us"},
        {"support_url": "https://10.1.2.3/help"},
        {"app_name": "   "},
        {"description": "x" * 1001},
    ],
)
def test_bad_listing_settings_are_refused(tmp_path, settings):
    with pytest.raises(ManifestError):
        render_manifest(BASE, tmp_path / "out", **settings)
    assert not (tmp_path / "out").exists()


def test_listing_settings_reach_the_app_config(tmp_path):
    render_manifest(
        BASE,
        tmp_path,
        app_name="Acme Scores",
        support_email="help@acme-example.com",
        support_url="https://help.acme-example.com/scores",
        support_phone="+18005550100",
    )
    config = _load(tmp_path, APP)["config"]
    assert config["name"] == "Acme Scores"
    assert config["support"] == {
        "supportEmail": "help@acme-example.com",
        "documentationUrl": f"{BASE}/docs/hubspot-setup",
        "supportUrl": "https://help.acme-example.com/scores",
        "supportPhone": "+18005550100",
    }
    listing = _load(tmp_path, Path("listing.json"))
    assert listing["supportEmail"] == "help@acme-example.com"


def test_the_checked_in_manifest_equals_a_fresh_render(tmp_path):
    checked_in = REPO / "manifest" / "hubspot"
    manifest.main_manifest(manifest.DEFAULT_BASE_URL, tmp_path)
    assert _tree(checked_in) == _tree(tmp_path), (
        "manifest/hubspot/ is stale: run "
        f"`conturs manifest hubspot --base-url {manifest.DEFAULT_BASE_URL}`"
    )


def test_the_setup_guide_names_the_manifest_support_contact():
    guide = (REPO / "docs" / "hubspot-setup.md").read_text(encoding="utf-8")
    assert manifest.SUPPORT_EMAIL in guide
    # supportUrl points at this section of the guide.
    assert "\n## Support\n" in guide


def test_the_setup_guide_names_every_conturs_property():
    from app.crm.hubspot.properties import CONTURS_PROPERTIES, GROUP_LABEL

    guide = (REPO / "docs" / "hubspot-setup.md").read_text(encoding="utf-8")
    assert GROUP_LABEL in guide
    for prop in CONTURS_PROPERTIES:
        assert f"**{prop.label}** (`{prop.name}`)" in guide


def test_every_changing_property_the_mapping_reads_is_subscribed():
    from app.crm.hubspot.mapping import MAPPED_PROPERTIES

    not_watched = {
        # Set once when the contact is created.
        "createdate",
        # The contact's primary company: its industry and size are read only
        # as a fallback for the contact's own fields.
        "associatedcompanyid",
    }
    watched = {
        sub.property_name for sub in SUBSCRIPTIONS if sub.object_type == "contact"
    }
    read = {
        name
        for name in MAPPED_PROPERTIES
        if not name.startswith("conturs_") and name not in not_watched
    }
    assert read <= watched, sorted(read - watched)


def test_the_emulated_hubspot_delivers_the_subscribed_events(tmp_path):
    """The rendered subscriptions, configured in the emulated HubSpot, bring the
    events the app handles and nothing for properties it does not read."""
    hub_id = 48213377
    render_manifest("http://localhost:8082", tmp_path)
    entries = [entry for _, entry in _entries(_load(tmp_path, WEBHOOKS))]
    bodies: list[bytes] = []
    receiver = Flask("receiver")

    @receiver.post("/hubspot/webhooks")
    def record() -> Response:
        bodies.append(request.get_data())
        return Response(status=204)

    server = ServerThread(receiver).start()
    sandbox = HubSpotSandbox(clock=ManualClock())
    sandbox.start()
    try:
        sandbox.configure_webhooks(f"{server.base_url}/hubspot/webhooks", entries)
        sandbox.mint_tokens(hub_id)
        act = sandbox.act
        contact = act.create_contact(hub_id, email="olena@acme.example")
        other = act.create_contact(hub_id, email="taras@acme.example")
        act.update_contact(hub_id, contact, website="acme.example")
        act.update_contact(hub_id, contact, email="olena.k@acme.example")
        deal = act.create_deal(hub_id, [contact], dealname="Pilot")
        act.move_deal(hub_id, deal, "closedwon")
        act.merge_contacts(hub_id, contact, other)
        act.privacy_delete_contact(hub_id, contact)
        assert sandbox.webhooks.wait_idle()
    finally:
        sandbox.stop()
        server.stop()

    events = [event for body in bodies for event in json.loads(body)]
    keys = [event_key(e["subscriptionType"], e.get("propertyName")) for e in events]
    assert set(keys) <= SUBSCRIPTION_KEYS
    for expected in (
        "contact.creation",
        "contact.propertyChange:email",
        "deal.propertyChange:dealstage",
        "contact.merge",
        "contact.privacyDeletion",
        "contact.deletion",
    ):
        assert expected in keys
    assert not [e for e in events if e.get("propertyName") == "website"]
