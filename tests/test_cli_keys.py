"""`conturs clients rotate-key | revoke-key | keys`, and `clients create` with
look-alike emails, on SQLite and PostgreSQL."""

import json
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from app import create_app
from app.cli import _Context, main
from app.container import services_of
from tests.conftest import TEST_ENCRYPTION_KEY, close_app
from tests.examples import EXAMPLE_LEADS


@pytest.fixture
def cli(monkeypatch, tmp_path, database_url):
    """Runs `conturs` against a migrated database, as an operator would."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("TOKEN_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEY)

    def invoke(*args: str):
        context = _Context()
        try:
            return CliRunner().invoke(
                main, list(args), obj=context, catch_exceptions=False
            )
        finally:  # each command builds its own app; close its connections
            if context._app is not None:
                close_app(context._app)

    assert invoke("db", "upgrade").exit_code == 0
    return invoke


@pytest.fixture
def http(cli) -> Iterator[FlaskClient]:
    """A server process of the same deployment (its own config cache)."""
    application = create_app({"JOBS_IMMEDIATE": True})
    yield application.test_client()
    close_app(application)


def create(cli, email: str = "owner@x.com") -> dict:
    result = cli("clients", "create", "--email", email)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def scores(http: FlaskClient, api_key: str) -> int:
    body = {"api_key": api_key, "email": "owner@x.com", "leads": EXAMPLE_LEADS}
    return http.post("/leads", json=body).status_code


def test_rotate_key_prints_a_working_key_and_ends_the_old_one(cli, http) -> None:
    issued = create(cli)
    result = cli("clients", "rotate-key", issued["client_id"])
    assert result.exit_code == 0, result.output
    rotated = json.loads(result.stdout)
    assert (
        rotated["api_key"].startswith("ck_")
        and rotated["api_key"] != (issued["api_key"])
    )
    assert rotated["prefix"] == rotated["api_key"][:10]
    assert rotated["revoked_prefixes"] == [issued["api_key"][:10]]
    assert scores(http, rotated["api_key"]) == 200
    assert scores(http, issued["api_key"]) == 401
    listed = [
        json.loads(line)
        for line in cli("clients", "keys", issued["client_id"]).stdout.splitlines()
    ]
    assert [key["prefix"] for key in listed] == [
        issued["api_key"][:10],
        rotated["prefix"],
    ]
    assert listed[0]["revoked_at"] is not None and listed[1]["revoked_at"] is None
    assert rotated["api_key"] not in cli("clients", "keys", issued["client_id"]).stdout


def test_grace_then_revoke_by_prefix(cli, http) -> None:
    issued = create(cli)
    old = issued["api_key"]
    result = cli(
        "clients", "rotate-key", issued["client_id"], "--grace-seconds", "3600"
    )
    new = json.loads(result.stdout)["api_key"]
    assert scores(http, old) == 200 and scores(http, new) == 200
    revoked = cli("clients", "revoke-key", issued["client_id"], "--prefix", old[:10])
    assert revoked.exit_code == 0, revoked.output
    assert json.loads(revoked.stdout)["revoked_prefixes"] == [old[:10]]
    services_of(http.application).configs.invalidate()
    assert scores(http, old) == 401 and scores(http, new) == 200
    again = cli("clients", "revoke-key", issued["client_id"], "--prefix", old[:10])
    assert again.exit_code == 1
    assert f"no active key with prefix {old[:10]}" in again.stderr
    every = cli("clients", "revoke-key", issued["client_id"], "--all")
    assert json.loads(every.stdout)["revoked_prefixes"] == [new[:10]]
    services_of(http.application).configs.invalidate()
    assert scores(http, new) == 401


@pytest.mark.parametrize(
    "args",
    [
        ("rotate-key", "cl_missing"),
        ("revoke-key", "cl_missing", "--all"),
        ("keys", "cl_missing"),
    ],
)
def test_unknown_client_exits_1_with_a_message(cli, args) -> None:
    result = cli("clients", *args)
    assert result.exit_code == 1
    assert "error: no client cl_missing" in result.stderr


def test_revoke_key_needs_exactly_one_of_prefix_or_all(cli) -> None:
    issued = create(cli)
    for extra in ([], ["--prefix", "ck_x", "--all"]):
        result = cli("clients", "revoke-key", issued["client_id"], *extra)
        assert result.exit_code == 2 and "exactly one" in result.output
    negative = cli(
        "clients", "rotate-key", issued["client_id"], "--grace-seconds", "-1"
    )
    assert negative.exit_code == 2


def test_create_refuses_look_alikes_of_a_registered_email(cli) -> None:
    create(cli, "owner@x.com")
    for look_alike in ["Owner@X.com.", "\uff4fwner@x.com"]:
        result = cli("clients", "create", "--email", look_alike)
        assert result.exit_code == 1
        assert "already exists" in result.stderr
    hidden = cli("clients", "create", "--email", "own\u200ber@x.com")
    assert hidden.exit_code == 1 and "U+200B" in hidden.stderr
    mixed = cli("clients", "create", "--email", "\u043ewner@x.com")
    assert mixed.exit_code == 1 and "different scripts" in mixed.stderr
