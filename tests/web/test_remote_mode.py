"""A self-hosted scoring service (CONFIG_API_URL) against a central Config API, two
app instances on two loopback ports: fetch and cache weights, keep scoring when the
Config API is down, and deliver feedback once it is back. Only hashes and factor
values cross the wire."""

import io
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select, update
from werkzeug.serving import make_server

from app import create_app
from app.container import services_of
from app.migrations import upgrade
from app.models import ApiKey, CachedConfig, Feedback, OutboxMessage
from app.models.base import utcnow
from tests.conftest import close_app


class Recorder:
    """WSGI middleware keeping every request body the Config API receives."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.bodies: list[bytes] = []

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        self.bodies.append(body)
        environ["wsgi.input"] = io.BytesIO(body)
        return self.wrapped(environ, start_response)


class Server:
    def __init__(self, app, port: int = 0):
        self.recorder = Recorder(app.wsgi_app)
        app.wsgi_app = self.recorder
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def make(tmp_path, name: str, **config):
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db",
            "SECRET_KEY": f"{name}-secret",
            "INSTANCE_PATH": str(tmp_path / name),
            "JOBS_IMMEDIATE": True,
            **config,
        }
    )
    upgrade(services_of(app).engine)
    return app


@pytest.fixture
def central(tmp_path):
    app = make(tmp_path, "central")
    server = Server(app)
    yield app, server
    server.stop()
    close_app(app)


def test_remote_mode_end_to_end(tmp_path, central) -> None:
    central_app, central_server = central
    registered = requests.post(
        f"{central_server.url}/config",
        json={"email": "owner@acme.com", "profile": {"industry": "Retail"}},
        timeout=5,
    ).json()
    scoring = make(tmp_path, "scoring", CONFIG_API_URL=central_server.url)
    scoring_server = Server(scoring)  # the second instance, on its own port

    def post(path: str, body: dict) -> requests.Response:
        return requests.post(f"{scoring_server.url}{path}", json=body, timeout=10)

    lead = {
        "email": "secret.person@private.com",
        "company": "Hidden Corp",
        "lead_status": "qualified",
        "first_name": "Secret",
    }
    request = {
        "api_key": registered["api_key"],
        "email": "owner@acme.com",
        "leads": [lead],
    }

    first = post("/leads", request)
    assert first.status_code == 200
    assert first.json()["method"] == "industry_prior"
    assert first.json()["client_id"] == registered["client_id"]
    wrong = post("/leads", {**request, "api_key": "ck_wrong"})
    assert wrong.status_code == 401
    with services_of(scoring).sessions() as session:
        assert session.scalar(select(CachedConfig)) is not None

    central_server.stop()  # the Config API goes down
    services_of(scoring).configs.invalidate()
    cached = post("/leads", request)
    assert cached.status_code == 200
    assert cached.json()["method"] == "industry_prior"  # the stored copy
    stranger = post(
        "/leads", {**request, "email": "new@other.com", "api_key": "ck_never_seen"}
    )
    assert stranger.status_code == 200
    assert stranger.json()["method"] == "default"

    services_of(scoring).recorder.flush()
    queued = post(
        "/feedback",
        {
            "api_key": registered["api_key"],
            "client_id": registered["client_id"],
            "lead_id": "secret.person@private.com",
            "action": "converted",
        },
    )
    assert queued.status_code == 202, queued.json()
    outbox = services_of(scoring).outbox
    assert outbox.deliver() == 0
    with services_of(scoring).sessions() as session:
        message = session.scalar(select(OutboxMessage))
        assert message.attempts == 1 and "unreachable" in message.last_error

    restarted = Server(central_app, central_server.port)  # the Config API is back
    try:
        with services_of(scoring).sessions.begin() as session:
            session.execute(
                update(OutboxMessage).values(
                    next_attempt_at=utcnow() - timedelta(seconds=1)
                )
            )
        assert outbox.deliver() == 1
        with services_of(central_app).sessions() as session:
            stored = session.scalars(select(Feedback)).all()
        assert len(stored) == 1 and stored[0].action == "converted"
        assert stored[0].factor_values[5] == 1.0  # lead_status: qualified
        received = b" ".join(
            central_server.recorder.bodies + restarted.recorder.bodies
        ).lower()
        for secret in (b"secret.person", b"private.com", b"hidden corp"):
            assert secret not in received
    finally:
        restarted.stop()
        scoring_server.stop()
        close_app(scoring)


def test_a_key_the_config_api_revokes_stops_scoring(tmp_path, central) -> None:
    central_app, central_server = central
    registered = requests.post(
        f"{central_server.url}/config", json={"email": "o@acme.com"}, timeout=5
    ).json()
    scoring = make(tmp_path, "scoring", CONFIG_API_URL=central_server.url)
    http = scoring.test_client()
    request = {
        "api_key": registered["api_key"],
        "email": "o@acme.com",
        "leads": [{"email": "a@b.co"}],
    }
    try:
        assert http.post("/leads", json=request).status_code == 200
        with services_of(central_app).sessions.begin() as session:
            session.execute(update(ApiKey).values(revoked_at=utcnow()))
        configs = services_of(scoring).configs
        configs.invalidate()  # a cold process: only the stored copy is left
        assert http.post("/leads", json=request).status_code == 200  # no waiting
        for _ in range(200):  # the background refresh hears the refusal
            if http.post("/leads", json=request).status_code == 401:
                break
            threading.Event().wait(0.02)
        else:
            raise AssertionError("a revoked key kept scoring")
        with services_of(scoring).sessions() as session:
            assert session.scalar(select(CachedConfig)) is None
    finally:
        close_app(scoring)
