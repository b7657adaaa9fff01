"""Forged install calls are refused with a clear 401 and store nothing: a wrong
secret, `alg: none`, other algorithms (HS512 with the right secret, RS256),
an expired or not-yet-valid JWT, missing time claims, and a domain changed
after signing; an unusable body is a 422."""

import base64
import json
import time
import warnings
from collections.abc import Callable

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from app.container import services_of
from app.models import Client
from tests.crm_app.uspacy.conftest import DOMAIN, OTHER_DOMAIN, ServedUspacy


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _claims(domain: str = DOMAIN, **changes: object) -> dict:
    now = int(time.time())
    claims = {"domain": domain, "iat": now, "nbf": now, "exp": now + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _signed(secret: str, algorithm: str = "HS256", **changes: object) -> str:
    domain = str(changes.pop("header_domain", DOMAIN))
    with warnings.catch_warnings():  # HS512 wants a longer key: a forgery anyway
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(
            _claims(**changes), secret, algorithm=algorithm, headers={"domain": domain}
        )


def _swap_header_domain(token: str) -> str:
    """The header changed after signing: `domain` names another portal."""
    _, payload, signature = token.split(".")
    header = {"alg": "HS256", "typ": "JWT", "domain": OTHER_DOMAIN}
    return ".".join((_b64(header), payload, signature))


def _swap_payload_domain(token: str) -> str:
    header, _, signature = token.split(".")
    return ".".join((header, _b64(_claims(OTHER_DOMAIN)), signature))


def _unsigned(secret: str) -> str:
    header = _b64({"alg": "none", "typ": "JWT", "domain": DOMAIN})
    return f"{header}.{_b64(_claims())}."


def _rs256(secret: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(), key, algorithm="RS256", headers={"domain": DOMAIN})


FORGERIES: dict[str, Callable[[str], str]] = {
    "wrong secret": lambda s: _signed("not-the-app-secret-" + "x" * 24),
    "alg none": _unsigned,
    "HS512 with the right secret": lambda s: _signed(s, "HS512"),
    "RS256": _rs256,
    "expired": lambda s: _signed(s, exp=int(time.time()) - 120),
    "not valid yet": lambda s: _signed(s, nbf=int(time.time()) + 600),
    "no exp": lambda s: _signed(s, exp=None),
    "no nbf": lambda s: _signed(s, nbf=None),
    "no iat": lambda s: _signed(s, iat=None),
    "header domain swapped": lambda s: _swap_header_domain(_signed(s)),
    "payload domain swapped": lambda s: _swap_payload_domain(_signed(s)),
    "two portals named": lambda s: _signed(s, header_domain=OTHER_DOMAIN),
    "no domain": lambda s: jwt.encode(_claims(domain=None), s, algorithm="HS256"),
}

# What each refusal says: the JWT fails for the reason the forgery is about.
REASONS = {
    "wrong secret": "signature does not match",
    "alg none": "must be signed with HS256",
    "HS512 with the right secret": "must be signed with HS256",
    "RS256": "must be signed with HS256",
    "expired": "expired",
    "not valid yet": "not valid yet",
    "no exp": "no 'exp' claim",
    "no nbf": "no 'nbf' claim",
    "no iat": "no 'iat' claim",
    "header domain swapped": "signature does not match",
    "payload domain swapped": "signature does not match",
    "two portals named": "two different portals",
    "no domain": "names no portal",
}


def _install_with(served: ServedUspacy, authorization: str | None, body=None):
    tokens = served.sandbox.mint_tokens(DOMAIN)
    if body is None:
        body = {
            "token": tokens["jwt"],
            "refresh_token": tokens["refreshToken"],
            "expiry_date": int(time.time()) + tokens["expireInSeconds"],
        }
    headers = {"Authorization": authorization} if authorization else {}
    return requests.post(
        f"{served.base_url}/uspacy/v1/portals/install",
        json=body,
        headers=headers,
        timeout=10,
    )


def _nothing_stored(served: ServedUspacy) -> None:
    assert served.accounts() == []
    with services_of(served.app).sessions() as session:
        assert session.query(Client).count() == 0
    calls = served.sandbox.calls(DOMAIN)
    assert not any("fields" in call or "webhooks" in call for call in calls)


@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_install_jwt_is_refused(served: ServedUspacy, forgery: str) -> None:
    token = FORGERIES[forgery](served.sandbox.client_secret)
    answer = _install_with(served, f"Bearer {token}")
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["status"] is True and REASONS[forgery] in body["errors"]["text"]
    _nothing_stored(served)


def test_install_without_a_bearer_is_refused(served: ServedUspacy) -> None:
    assert _install_with(served, None).status_code == 401
    assert _install_with(served, "Basic abc").status_code == 401
    _nothing_stored(served)


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"token": "", "refresh_token": "r", "expiry_date": 1},
        {"token": "t", "refresh_token": "r", "expiry_date": "tomorrow"},
        {"token": "t", "expiry_date": 1_900_000_000},
    ],
)
def test_unusable_install_body_is_refused(served: ServedUspacy, body) -> None:
    good = served.sandbox.install_jwt(DOMAIN)
    answer = _install_with(served, f"Bearer {good}", body)
    assert answer.status_code == 422, answer.text
    _nothing_stored(served)


def test_tokens_of_another_portal_are_refused(served: ServedUspacy) -> None:
    theirs = served.sandbox.mint_tokens(OTHER_DOMAIN)
    body = {
        "token": theirs["jwt"],
        "refresh_token": theirs["refreshToken"],
        "expiry_date": int(time.time()) + 3600,
    }
    good = served.sandbox.install_jwt(DOMAIN)
    assert _install_with(served, f"Bearer {good}", body).status_code == 422
    _nothing_stored(served)


def test_the_genuine_jwt_within_leeway_is_accepted(served: ServedUspacy) -> None:
    # Uspacy's clock a little ahead of ours: iat and nbf 10 s in our future.
    ahead = int(time.time()) + 10
    token = _signed(served.sandbox.client_secret, iat=ahead, nbf=ahead)
    assert _install_with(served, f"Bearer {token}").status_code == 200
    assert [a.account_id for a in served.accounts()] == [DOMAIN]
