"""One base URL per Uspacy portal: `/_portal/{domain}` serves that portal only, a
token or refresh token of another portal is refused with 401, and with bare
routes off nothing answers without the prefix."""

import json
from collections.abc import Iterator

import pytest
import requests

from app.sandbox import ManualClock, UspacySandbox

ACME, GLOBEX = "acme.uspacy.ua", "globex.uspacy.ua"


@pytest.fixture
def strict(receiver, clock: ManualClock) -> Iterator[UspacySandbox]:
    """An emulation that answers only under per-portal base URLs."""
    sandbox = UspacySandbox(
        callback_url=f"{receiver.base_url}/uspacy/v1",
        clock=clock,
        retry_delays=(0.05,),
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


def _get(url: str, token: str, **params: object) -> requests.Response:
    return requests.get(
        url, headers={"Authorization": f"Bearer {token}"}, params=params, timeout=5
    )


def test_a_token_works_only_on_its_own_portal(strict):
    acme, globex = strict.mint_tokens(ACME), strict.mint_tokens(GLOBEX)
    strict.act_create(ACME, "leads", title="Acme lead")
    own = _get(f"{strict.portal_base_url(ACME)}/crm/v1/entities/leads", acme["jwt"])
    assert own.status_code == 200 and own.json()["meta"]["total"] == 1
    crossed = _get(
        f"{strict.portal_base_url(GLOBEX)}/crm/v1/entities/leads", acme["jwt"]
    )
    assert crossed.status_code == 401
    assert crossed.json() == {"message": "Unauthorized"}
    theirs = _get(
        f"{strict.portal_base_url(GLOBEX)}/crm/v1/entities/leads", globex["jwt"]
    )
    assert theirs.json()["meta"]["total"] == 0
    unknown = _get(
        f"{strict.portal_base_url('nobody.uspacy.ua')}/company/v1/users/me",
        acme["jwt"],
    )
    assert unknown.status_code == 401
    template = strict.base_url_template
    assert template.format(domain=ACME) == strict.portal_base_url(ACME)


def test_refresh_on_another_portal_is_refused_and_keeps_the_token(strict):
    pair = strict.mint_tokens(ACME)
    strict.create_portal(GLOBEX)
    wrong = requests.post(
        f"{strict.portal_base_url(GLOBEX)}/auth/v1/auth/refresh_token",
        headers={"Authorization": f"Bearer {pair['refreshToken']}"},
        timeout=5,
    )
    assert wrong.status_code == 401
    right = requests.post(
        f"{strict.portal_base_url(ACME)}/auth/v1/auth/refresh_token",
        headers={"Authorization": f"Bearer {pair['refreshToken']}"},
        timeout=5,
    )
    assert right.status_code == 200 and right.json()["jwt"] != pair["jwt"]


def test_without_the_prefix_nothing_answers(strict):
    pair = strict.mint_tokens(ACME)
    bare = _get(f"{strict.base_url}/company/v1/users/me", pair["jwt"])
    assert bare.status_code == 404
    hidden = requests.get(
        f"{strict.portal_base_url(ACME)}/_control/portals/{ACME}/knobs", timeout=5
    )
    assert hidden.status_code == 404
    assert (
        requests.get(f"{strict.base_url}/_control/app", timeout=5).json()[
            "base_url_template"
        ]
        == strict.base_url_template
    )


def test_paging_links_and_the_confirmation_link_keep_the_portal_prefix(
    strict, receiver
):
    pair = strict.mint_tokens(ACME)
    base = strict.portal_base_url(ACME)
    for n in range(3):
        strict.act_create(ACME, "leads", title=f"L{n}")
    page = _get(f"{base}/crm/v1/entities/leads", pair["jwt"], list=2).json()
    assert page["links"]["next"].startswith(f"{base}/crm/v1/entities/leads")
    assert _get(page["links"]["next"], pair["jwt"]).json()["meta"]["current_page"] == 2
    made = requests.post(
        f"{base}/company/v1/webhooks",
        headers={"Authorization": f"Bearer {pair['jwt']}"},
        json={"url": f"{receiver.base_url}/hook", "events": []},
        timeout=5,
    )
    assert made.status_code == 201
    assert strict.webhooks.wait_idle()
    [sent] = receiver.requests
    link = json.loads(sent.body)["validation_link"]
    assert link.startswith(f"{base}/company/v1/webhooks/")
    elsewhere = link.replace(base, strict.portal_base_url(GLOBEX))
    assert requests.get(elsewhere, timeout=5).status_code == 404
    assert requests.get(link, timeout=5).status_code == 200
