"""Our property group and six contact properties in a HubSpot portal: created
once, left alone afterwards, defined for the salespeople who read them."""

import requests

from app.crm.base import FIELD_KEYS
from app.crm.hubspot.properties import (
    CONTURS_PROPERTIES,
    CONTURS_PROPERTY_NAMES,
    FIELD_CODES,
    GROUP_NAME,
)
from tests.crm.helpers import HUB_ID

EXPECTED_TYPES = {
    "conturs_score": ("number", "number"),
    "conturs_label": ("enumeration", "select"),
    "conturs_top_factors": ("string", "text"),
    "conturs_explanation": ("string", "textarea"),
    "conturs_method": ("string", "text"),
    "conturs_scored_at": ("datetime", "date"),
}


def test_properties_cover_every_field_key_once():
    assert tuple(FIELD_CODES) == FIELD_KEYS
    assert len(set(CONTURS_PROPERTY_NAMES)) == len(FIELD_KEYS)
    for prop in CONTURS_PROPERTIES:
        body = prop.definition(0)
        assert body["groupName"] == GROUP_NAME and body["formField"] is False
        # Written for salespeople: a readable label and a real sentence.
        assert "(Conturs)" in prop.label and len(prop.description) > 30


def test_ensure_fields_creates_the_group_and_properties_once(hubspot, account):
    first = account.ensure_fields()
    assert first.created == list(CONTURS_PROPERTY_NAMES)
    assert first.existing == []
    assert first.codes == {
        "score": "conturs_score",
        "label": "conturs_label",
        "top_factors": "conturs_top_factors",
        "explanation": "conturs_explanation",
        "method": "conturs_method",
        "scored_at": "conturs_scored_at",
    }
    for name, (kind, field_type) in EXPECTED_TYPES.items():
        found = hubspot.get_property(HUB_ID, "contacts", name)
        assert found is not None, name
        assert (found["type"], found["fieldType"], found["groupName"]) == (
            kind,
            field_type,
            GROUP_NAME,
        )
        assert found["description"]
    label = hubspot.get_property(HUB_ID, "contacts", "conturs_label")
    assert [o["value"] for o in label["options"]] == ["Hot", "Warm", "Cool", "Cold"]
    writes_before = hubspot.calls(HUB_ID)

    second = account.ensure_fields()

    assert second.created == []
    assert second.existing == list(CONTURS_PROPERTY_NAMES)
    calls = hubspot.calls(HUB_ID)
    creates = [k for k in calls if k.startswith("POST /crm/v3/properties")]
    assert all(calls[k] == writes_before[k] for k in creates)


def test_ensure_fields_keeps_what_a_portal_already_has(hubspot, account, kept):
    # A previous install left the group and one property behind.
    base = f"{hubspot.base_url}/crm/v3/properties/contacts"
    auth = {"Authorization": f"Bearer {kept.current()}"}
    group = {"name": GROUP_NAME, "label": "Old label"}
    assert requests.post(f"{base}/groups", json=group, headers=auth, timeout=5).ok
    score = CONTURS_PROPERTIES[0].definition(0)
    assert requests.post(base, json=score, headers=auth, timeout=5).ok

    setup = account.ensure_fields()

    assert setup.existing == ["conturs_score"]
    assert setup.created == list(CONTURS_PROPERTY_NAMES[1:])


def test_a_conflict_on_create_counts_as_existing(hubspot, account, kept):
    # HubSpot answers 409 when the name is taken by a property the listing does
    # not show (archived, or created a moment ago by a concurrent install).
    base = f"{hubspot.base_url}/crm/v3/properties/contacts"
    auth = {"Authorization": f"Bearer {kept.current()}"}
    account.ensure_fields()
    gone = requests.delete(f"{base}/conturs_method", headers=auth, timeout=5)
    assert gone.status_code == 204

    setup = account.ensure_fields()

    assert setup.created == []
    assert "conturs_method" in setup.existing
    assert hubspot.calls(HUB_ID)["POST /crm/v3/properties/contacts"] == 7
