"""Setting up our fields on a portal's leads and contacts over HTTP: created
once with Uspacy's types and our names, found again by code or by name, the
server's codes kept, and a concurrent setup's duplicate read as existing."""

import pytest

from app.crm.base import FIELD_KEYS
from app.crm.retry import RetryPolicy
from app.crm.uspacy import contract, errors, fields
from app.crm.uspacy.field_specs import FIELD_SPECS
from app.crm.uspacy.portal import PortalApi
from tests.crm.uspacy.helpers import DOMAIN, account_for

CREATES = "POST /crm/v1/entities/<any(leads, contacts, deals, companies):kind>/fields"


def our_fields(uspacy, kind: str) -> dict[str, dict]:
    fields = uspacy.store.portals[DOMAIN].fields[kind]
    return {code: f for code, f in fields.items() if not f["system_field"]}


def test_fields_are_created_once_on_leads_and_contacts(uspacy, account):
    first = account.ensure_fields()
    second = account.ensure_fields()

    codes = {spec.key: spec.code for spec in FIELD_SPECS}
    assert sorted(first.created) == sorted(
        f"{kind}.{code}" for kind in ("leads", "contacts") for code in codes.values()
    )
    assert first.existing == [] and first.codes == codes
    assert list(first.codes) == list(FIELD_KEYS)
    # The second run creates nothing and keeps the same codes.
    assert second.created == [] and sorted(second.existing) == sorted(first.created)
    assert second.codes == first.codes
    assert uspacy.calls(DOMAIN)[CREATES] == 12
    for kind in ("leads", "contacts"):
        made = our_fields(uspacy, kind)
        assert {code: f["type"] for code, f in made.items()} == {
            "conturs_score": "integer",
            "conturs_label": "list",
            "conturs_top_factors": "string",
            "conturs_explanation": "textarea",
            "conturs_method": "string",
            "conturs_scored_at": "datetime",
        }
        assert made["conturs_score"]["name"] == "Оцінка ліда (Conturs)"
        assert [o["value"] for o in made["conturs_label"]["values"]] == [
            "hot",
            "warm",
            "cool",
            "cold",
        ]
        assert made["conturs_label"]["values"][0]["title"] == "Гарячий"


def test_english_names_when_the_portal_speaks_english(uspacy, config, kept):
    account = account_for(config, kept, language="en")
    account.ensure_fields()
    made = our_fields(uspacy, "contacts")
    assert made["conturs_score"]["name"] == "Lead score (Conturs)"
    assert [o["title"] for o in made["conturs_label"]["values"]] == [
        "Hot",
        "Warm",
        "Cool",
        "Cold",
    ]
    with pytest.raises(ValueError):
        account_for(config, kept, language="fr")


def test_a_field_found_under_another_code_is_kept_not_duplicated(uspacy, account, kept):
    # A server that renamed our code on creation: the field has our name only.
    api = PortalApi(
        uspacy.portal_base_url(DOMAIN), kept, 5.0, pacer=None, retry=_once()
    )
    api.call(
        "POST",
        "/crm/v1/entities/leads/fields/",
        body={
            "name": "Lead score (Conturs)",
            "code": "uf_crm_score",
            "type": "integer",
        },
    )

    setup = account.ensure_fields()

    assert "leads.uf_crm_score" in setup.existing
    assert "conturs_score" not in our_fields(uspacy, "leads")
    assert setup.codes["leads.score"] == "uf_crm_score"
    assert setup.codes["contacts.score"] == "conturs_score"
    assert "score" not in setup.codes and setup.codes["label"] == "conturs_label"
    assert account.field_codes["leads"]["score"] == "uf_crm_score"


class ConcurrentSetup(PortalApi):
    """A portal where another setup creates each field just before we do."""

    def __init__(self, uspacy, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.uspacy = uspacy

    def call(self, method, path, *, params=None, body=None):
        if method == "POST" and path.endswith("/fields/"):
            kind = path.split("/")[4]
            with self.uspacy.store.lock:
                fields = self.uspacy.store.portals[DOMAIN].fields[kind]
                fields[body["code"]] = {**body, "system_field": False}
        return super().call(method, path, params=params, body=body)


def test_a_duplicate_code_from_a_concurrent_setup_counts_as_existing(uspacy, kept):
    api = ConcurrentSetup(
        uspacy, uspacy.portal_base_url(DOMAIN), kept, 5.0, pacer=None, retry=_once()
    )

    setup, codes = fields.ensure_fields(api, "en")

    assert setup.created == [] and len(setup.existing) == 12
    assert codes["contacts"]["scored_at"] == "conturs_scored_at"
    # Every create was refused as a duplicate, and nothing was created twice.
    assert uspacy.calls(DOMAIN)[CREATES] == 12
    assert len(our_fields(uspacy, "leads")) == 6


def test_a_field_uspacy_will_not_take_is_refused_naming_the_key(uspacy, kept):
    api = PortalApi(
        uspacy.portal_base_url(DOMAIN), kept, 5.0, pacer=None, retry=_once()
    )
    body = fields.create_body(FIELD_SPECS[0], 0, "en") | {"type": "no-such-type"}
    with pytest.raises(errors.Invalid) as refused:
        api.call("POST", contract.FIELDS_PATH.format(kind="leads"), body=body)
    assert refused.value.keys == ("type",)


def _once() -> RetryPolicy:
    return RetryPolicy(attempts=1)
