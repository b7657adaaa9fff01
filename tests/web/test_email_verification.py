"""Email verification over HTTP with a real SMTP server on loopback: every address
gets the same answer, a new one its key by mail, a registered one a notice."""

import json
from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from flask import Flask
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import (
    WerkzeugOpenAPIRequest,
    WerkzeugOpenAPIResponse,
)
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app import create_app
from app.config import load_settings
from app.container import services_of
from app.mail import SmtpMailer
from app.migrations import upgrade
from app.models import ApiKey, Client
from app.services.learning.config import ConfigService
from tests.conftest import app_settings, close_app
from tests.processes import free_port

CHECK_YOUR_EMAIL = {"status": "check_your_email"}


class Inbox:
    """An SMTP server's received messages."""

    def __init__(self) -> None:
        self.messages: list = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        self.messages.append(envelope)
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login, auth_data.password))
            return AuthResult(success=auth_data.password == b"s3cret/pw")
        return AuthResult(success=False)

    def bodies(self) -> list[tuple[list[str], str]]:
        parsed = []
        for envelope in self.messages:
            message = message_from_bytes(envelope.content, policy=policy.default)
            parsed.append((envelope.rcpt_tos, message.get_content()))
        return parsed


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        enable_SMTPUTF8=True,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def verifying_app(database_url: str, tmp_path, smtp) -> Iterator[Flask]:
    _, port = smtp
    application = create_app(
        app_settings(
            tmp_path / "instance",
            DATABASE_URL=database_url,
            EMAIL_VERIFICATION=True,
            MAIL_URL=f"smtp://keys%40conturs.example:s3cret%2Fpw@127.0.0.1:{port}",
            MAIL_FROM="keys@conturs.example",
        )
    )
    upgrade(services_of(application).engine)
    yield application
    close_app(application)


def _answer(response) -> tuple[int, bytes, list[tuple[str, str]]]:
    headers = [(k, v) for k, v in response.headers if k != "X-Request-Id"]
    return response.status_code, response.get_data(), sorted(headers)


def test_verification_mails_the_key_and_answers_every_address_alike(
    verifying_app, smtp
) -> None:
    inbox, _ = smtp
    client = verifying_app.test_client()
    new = client.post("/config", json={"email": "Owner@X.com."})
    assert new.status_code == 202 and new.get_json() == CHECK_YOUR_EMAIL
    assert inbox.logins == [(b"keys@conturs.example", b"s3cret/pw")]
    [(recipients, body)] = inbox.bodies()
    assert recipients == ["owner@x.com"]
    api_key = next(word for word in body.split() if word.startswith("ck_"))
    mailed = client.post("/config", json={"email": "owner@x.com", "api_key": api_key})
    assert mailed.status_code == 200
    client_id = mailed.get_json()["client_id"]

    known = client.post("/config", json={"email": "OWNER@x.com"})
    unknown = client.post("/config", json={"email": "someone@else.com"})
    assert _answer(known) == _answer(unknown) == _answer(new)
    notice = dict((tuple(to), text) for to, text in inbox.bodies()[1:])
    assert "ck_" not in notice[("owner@x.com",)]  # a notice grants nothing
    assert "rotate-key" in notice[("owner@x.com",)]
    assert "ck_" in notice[("someone@else.com",)]
    with services_of(verifying_app).sessions() as session:
        keys = session.scalars(select(ApiKey).where(ApiKey.client_id == client_id))
        assert len(list(keys)) == 1  # asking again issued no key
    # A wrong key is refused alike too, and mails nothing.
    wrong = [
        client.post("/config", json={"email": email, "api_key": "ck_wrong"})
        for email in ("owner@x.com", "third@else.com")
    ]
    assert _answer(wrong[0]) == _answer(wrong[1])
    assert wrong[0].status_code == 401
    assert len(inbox.messages) == 3


def test_verification_keeps_the_profile_and_refuses_bad_input_alike(
    verifying_app, smtp
) -> None:
    inbox, _ = smtp
    client = verifying_app.test_client()
    body = {"email": "cto@acme.com", "profile": {"industry": "Computer Software"}}
    assert client.post("/config", json=body).status_code == 202
    [(_, text)] = inbox.bodies()
    api_key = next(word for word in text.split() if word.startswith("ck_"))
    config = client.post("/config", json={"email": "cto@acme.com", "api_key": api_key})
    assert config.get_json()["method"] == "industry_prior"
    bad = [
        client.post("/config", json={"email": email, "profile": {"company_size": "x"}})
        for email in ("cto@acme.com", "new@acme.com")
    ]
    assert bad[0].status_code == 400 and _answer(bad[0]) == _answer(bad[1])
    assert len(inbox.messages) == 1


def test_a_key_that_cannot_be_mailed_is_never_stored(verifying_app, smtp) -> None:
    services = services_of(verifying_app)
    nobody_listens = SmtpMailer("127.0.0.1", free_port(), "keys@conturs.example")
    accounts = ConfigService(services.sessions, services.tasks, True, nobody_listens)
    with pytest.raises(OSError):
        accounts.send_access_mail("owner@x.com")
    with services_of(verifying_app).sessions() as session:
        assert session.scalar(select(func.count()).select_from(Client)) == 0


def test_verification_mails_international_addresses(verifying_app, smtp) -> None:
    inbox, _ = smtp
    client = verifying_app.test_client()
    assert client.post("/config", json={"email": "用户@例子.中国"}).status_code == 202
    [(recipients, body)] = inbox.bodies()
    assert recipients == ["用户@xn--fsqu00a.xn--fiqs8s"]
    assert "ck_" in body


def test_the_202_matches_the_openapi_document(verifying_app) -> None:
    client = verifying_app.test_client()
    spec = OpenAPI.from_dict(client.get("/openapi.json").get_json())

    def build() -> EnvironBuilder:
        return EnvironBuilder(
            path="/config",
            method="POST",
            data=json.dumps({"email": "doc@acme.com"}),
            content_type="application/json",
            base_url="http://localhost",
        )

    response = client.open(build())
    assert response.status_code == 202
    spec.validate_response(
        WerkzeugOpenAPIRequest(Request(build().get_environ())),
        WerkzeugOpenAPIResponse(response),
    )


def test_email_verification_is_read_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("EMAIL_VERIFICATION", raising=False)
    assert load_settings(str(tmp_path))["EMAIL_VERIFICATION"] is False
    for value, expected in [("true", True), ("1", True), ("off", False)]:
        monkeypatch.setenv("EMAIL_VERIFICATION", value)
        assert load_settings(str(tmp_path))["EMAIL_VERIFICATION"] is expected


def test_verification_needs_a_mail_server(database_url, tmp_path) -> None:
    with pytest.raises(RuntimeError, match="MAIL_URL"):
        create_app(
            app_settings(
                tmp_path / "instance",
                DATABASE_URL=database_url,
                EMAIL_VERIFICATION=True,
            )
        )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", ("mail.example", 25, None, None, False, False)),
        (
            "smtp://u%40x:p%3Aw@mail.example:587?starttls=1",
            ("mail.example", 587, "u@x", "p:w", False, True),
        ),
        ("smtps://u:p@mail.example", ("mail.example", 465, "u", "p", True, False)),
    ],
)
def test_mail_url_forms(url, expected) -> None:
    mailer = SmtpMailer.from_url(url, "keys@conturs.example")
    assert (
        mailer.host,
        mailer.port,
        mailer.username,
        mailer._password,
        mailer.implicit_tls,
        mailer.starttls,
    ) == expected


@pytest.mark.parametrize(
    "url", ["http://u:p4ss@mail.example", "smtp://u:p4ss@", "smtp://u:p4ss@h:99999"]
)
def test_bad_mail_urls_are_refused_without_showing_secrets(url) -> None:
    with pytest.raises(ValueError, match="MAIL_URL") as raised:
        SmtpMailer.from_url(url, "keys@conturs.example")
    assert "p4ss" not in str(raised.value)
