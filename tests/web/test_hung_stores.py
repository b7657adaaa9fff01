"""A database or Redis that accepts connections and never answers: every request
ends within 2 s, as JSON — cached clients keep scoring (200), the rest get 503 — and
the queue's failure to enqueue never fails /config or /feedback.

The hung store is a real TCP server on loopback that accepts, reads and answers
nothing; the proxy variant forwards to the real PostgreSQL until it is switched to
hang mid-test, which freezes the connections already open as well."""

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from app import create_app
from app.container import services_of
from app.migrations import upgrade
from app.services.learning.clients import create_client
from tests.conftest import app_settings, close_app

BUDGET = 2.0  # seconds any request may take with a hung store
FACTORS = {
    "lead_source": 1.0,
    "has_valid_email": 1.0,
    "has_company_match": 1.0,
    "industry_match": 0.0,
    "days_since_created": 0.5,
    "lead_status": 0.5,
    "engagement_score": 0.2,
    "profile_completeness": 0.6,
    "company_size_bucket": 0.3,
    "recency_score": 0.2,
}


class StoreProxy:
    """A TCP server on a free loopback port that forwards to `upstream` until
    `hang()` (or from the start, without one); hung, it keeps accepting and
    reading on every connection, old and new, and answers nothing."""

    def __init__(self, upstream: tuple[str, int] | None = None) -> None:
        self._upstream = upstream
        self.hung = upstream is None
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = [self._listener]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def hang(self) -> None:
        self.hung = True

    def close(self) -> None:
        self._closed = True
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(client)
            if self._upstream is None or self.hung:
                threading.Thread(
                    target=self._pump, args=(client, None), daemon=True
                ).start()
                continue
            server = socket.create_connection(self._upstream)
            self._sockets.append(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, target), daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket | None) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if target is None or self.hung:
                continue  # swallowed: a hung store reads and never answers
            try:
                target.sendall(data)
            except OSError:
                return


@pytest.fixture
def hung() -> Iterator[StoreProxy]:
    proxy = StoreProxy()
    yield proxy
    proxy.close()


def _app(tmp_path, **settings) -> Flask:
    return create_app(app_settings(tmp_path / "instance", **settings))


def _timed(call) -> tuple[Any, float]:
    """Run `call`, failing (not hanging) when it has not returned in 10 s."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # re-raised in the test's thread
            outcome["error"] = error

    start = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():
        pytest.fail("the request hung on the store")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"], time.monotonic() - start


def _hung_database(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"


def _assert_unavailable(response, elapsed: float) -> None:
    assert response.status_code == 503, response.get_data()
    assert response.is_json and response.get_json()["error"]
    assert elapsed < BUDGET, f"took {elapsed:.2f} s"


def test_leads_for_an_unknown_key_on_a_hung_database_is_a_quick_503(
    hung: StoreProxy, tmp_path
) -> None:
    app = _app(tmp_path, DATABASE_URL=_hung_database(hung.port))
    client = app.test_client()
    body = {"api_key": "ck_unknown", "email": "a@b.com", "leads": [{"email": "x@y.z"}]}
    response, elapsed = _timed(lambda: client.post("/leads", json=body))
    _assert_unavailable(response, elapsed)
    # The store just stopped answering: the next request does not wait on it again.
    response, elapsed = _timed(lambda: client.post("/leads", json=body))
    _assert_unavailable(response, elapsed)
    assert elapsed < 0.5
    close_app(app)


def test_config_on_a_hung_database_is_a_quick_503(hung: StoreProxy, tmp_path) -> None:
    app = _app(tmp_path, DATABASE_URL=_hung_database(hung.port))
    response, elapsed = _timed(
        lambda: app.test_client().post("/config", json={"email": "new@example.com"})
    )
    _assert_unavailable(response, elapsed)
    close_app(app)


def test_feedback_on_a_hung_database_is_a_quick_503(hung: StoreProxy, tmp_path) -> None:
    app = _app(tmp_path, DATABASE_URL=_hung_database(hung.port))
    body = {
        "api_key": "ck_unknown",
        "client_id": "cl_0123456789abcdef",
        "lead_id": "x@y.z",
        "action": "converted",
        "factors": FACTORS,
    }
    response, elapsed = _timed(lambda: app.test_client().post("/feedback", json=body))
    _assert_unavailable(response, elapsed)
    close_app(app)


def test_a_hung_redis_fails_enqueues_quickly_and_requests_still_answer(
    hung: StoreProxy, tmp_path
) -> None:
    app = _app(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path}/test.db",
        REDIS_URL=f"redis://127.0.0.1:{hung.port}/0",
        JOBS_IMMEDIATE=False,
    )
    upgrade(services_of(app).engine)
    queue = services_of(app).tasks
    enqueued, elapsed = _timed(lambda: queue.enqueue("refit_client", client_id="cl_x"))
    assert enqueued is False and elapsed < BUDGET

    client = app.test_client()
    registered, elapsed = _timed(
        lambda: client.post(
            "/config", json={"email": "ops@example.com", "profile": {"country": "DE"}}
        )
    )
    assert registered.status_code == 201 and elapsed < BUDGET
    account = registered.get_json()
    assert "refit_pending" not in account  # the refit could not be queued

    # The tenth outcome is due a refit: its enqueue fails and the outcome stands.
    for number in range(10):
        response, elapsed = _timed(
            lambda number=number: client.post(
                "/feedback",
                json={
                    "api_key": account["api_key"],
                    "client_id": account["client_id"],
                    "lead_id": f"lead{number}@example.com",
                    "action": "converted",
                    "factors": FACTORS,
                },
            )
        )
        assert response.status_code == 200, response.get_data()
        assert elapsed < BUDGET
    assert response.get_json()["refit_due"] is True
    close_app(app)


@pytest.fixture
def real_postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL) behind a switchable proxy")
    return database_url


def test_cached_clients_keep_scoring_when_postgres_hangs_mid_flight(
    real_postgres: str, tmp_path
) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(real_postgres)
    proxy = StoreProxy((url.host or "127.0.0.1", url.port or 5432))
    app = _app(tmp_path, DATABASE_URL=real_postgres)
    upgrade(services_of(app).engine)
    issued = create_client(services_of(app).sessions, "sales@yourcompany.com")
    close_app(app)

    app = _app(
        tmp_path,
        DATABASE_URL=url.set(port=proxy.port).render_as_string(hide_password=False),
    )
    client = app.test_client()
    known = {
        "api_key": issued.api_key,
        "email": "sales@yourcompany.com",
        "leads": [{"email": "x@y.z", "lead_status": "qualified"}],
    }
    try:
        assert client.post("/leads", json=known).status_code == 200  # now cached
        proxy.hang()

        response, elapsed = _timed(lambda: client.post("/leads", json=known))
        assert response.status_code == 200 and elapsed < 0.5

        unknown = {**known, "api_key": "ck_unknown"}
        response, elapsed = _timed(lambda: client.post("/leads", json=unknown))
        _assert_unavailable(response, elapsed)

        response, elapsed = _timed(
            lambda: client.post(
                "/config",
                json={"email": "sales@yourcompany.com", "api_key": issued.api_key},
            )
        )
        _assert_unavailable(response, elapsed)

        # Still served from the cache while the store is down.
        response, elapsed = _timed(lambda: client.post("/leads", json=known))
        assert response.status_code == 200 and elapsed < 0.5
    finally:
        close_app(app)
        proxy.close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once it is closed


def test_a_refused_database_is_a_503_on_every_route(tmp_path) -> None:
    app = _app(tmp_path, DATABASE_URL=_hung_database(_closed_port()))
    client = app.test_client()
    leads = {"api_key": "ck_unknown", "email": "a@b.com", "leads": [{}]}
    feedback = {
        "api_key": "ck_unknown",
        "client_id": "cl_0123456789abcdef",
        "lead_id": "x@y.z",
        "action": "converted",
        "factors": FACTORS,
    }
    for path, body in (
        ("/leads", leads),
        ("/config", {"email": "new@example.com"}),
        ("/feedback", feedback),
    ):
        response, elapsed = _timed(lambda p=path, b=body: client.post(p, json=b))
        _assert_unavailable(response, elapsed)
    close_app(app)


def test_a_read_only_database_is_a_503_and_logs_no_values(
    database_url: str, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that refuses writes (a read-only replica after a failover; a
    SQLite file opened read-only) fails /config and /feedback with 503, and the
    email and lead of the refused request appear in no log line."""
    app = _app(tmp_path, DATABASE_URL=database_url)
    upgrade(services_of(app).engine)
    issued = create_client(services_of(app).sessions, "sales@yourcompany.com")
    close_app(app)
    if database_url.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = make_url(database_url).database
        admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
        admin.dispose()
        read_only = database_url
    else:
        read_only = f"sqlite:///file:{tmp_path}/test.db?mode=ro&uri=true"
    app = _app(tmp_path, DATABASE_URL=read_only)
    client = app.test_client()
    caplog.set_level("DEBUG")
    registered = client.post("/config", json={"email": "private.person@example.org"})
    assert registered.status_code == 503 and registered.is_json
    outcome = client.post(
        "/feedback",
        json={
            "api_key": issued.api_key,
            "client_id": issued.client_id,
            "lead_id": "secret.lead@example.org",
            "action": "converted",
            "factors": FACTORS,
        },
    )
    assert outcome.status_code == 503 and outcome.is_json
    close_app(app)
    logged = caplog.text + "".join(
        str(record.exc_info[1]) for record in caplog.records if record.exc_info
    )
    assert "private.person" not in logged and "secret.lead" not in logged


def test_an_unmapped_store_error_is_a_json_503_logged_without_values(
    tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    from sqlalchemy.exc import OperationalError

    app = _app(tmp_path, DATABASE_URL=f"sqlite:///{tmp_path}/test.db")

    @app.get("/store-failure")
    def store_failure() -> None:
        raise OperationalError(
            "SELECT * FROM clients WHERE email = :email",
            {"email": "private.person@example.org"},
            Exception('DETAIL: Key (email)=("private.person@example.org") exists'),
        )

    caplog.set_level("ERROR")
    response = app.test_client().get("/store-failure")
    assert response.status_code == 503
    assert response.get_json() == {
        "error": "The data store is unavailable right now; try again shortly"
    }
    assert "store error in GET /store-failure" in caplog.text
    assert "OperationalError" in caplog.text
    assert "private.person" not in caplog.text
    assert all(record.exc_info is None for record in caplog.records)
    close_app(app)


def test_store_timeout_seconds_sets_the_bound(
    hung: StoreProxy, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STORE_TIMEOUT_SECONDS", "0.4")
    app = _app(tmp_path, DATABASE_URL=_hung_database(hung.port))
    assert app.config["STORE_TIMEOUT_SECONDS"] == 0.4
    response, elapsed = _timed(
        lambda: app.test_client().post("/config", json={"email": "new@example.com"})
    )
    assert response.status_code == 503 and 0.4 <= elapsed < 1.0
    close_app(app)
    for wrong in ("0", "-1", "soon", "nan"):
        monkeypatch.setenv("STORE_TIMEOUT_SECONDS", wrong)
        with pytest.raises(ValueError, match="STORE_TIMEOUT_SECONDS"):
            _app(tmp_path, DATABASE_URL=_hung_database(hung.port))
