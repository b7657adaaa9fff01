"""Shared fixtures: an app on a fresh, migrated database (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), its test client, and a registered scoring client."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.container import services_of
from app.crypto import generate_key
from app.migrations import upgrade
from app.services.learning.clients import IssuedClient, create_client

TEST_ENCRYPTION_KEY = generate_key()
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A fresh, empty database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/test.db"
        return
    yield from _postgres_database()


def _postgres_database() -> Iterator[str]:
    server = make_url(os.environ["TEST_DATABASE_URL"])
    if server.drivername == "postgresql":
        server = server.set(drivername="postgresql+psycopg")
    name = f"conturs_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def app_settings(instance_path: Path, **overrides: Any) -> dict[str, Any]:
    """Settings of a test app (secrets fixed, jobs run inline) plus `overrides`."""
    return {
        "SECRET_KEY": "test-secret",
        "TOKEN_ENCRYPTION_KEYS": [TEST_ENCRYPTION_KEY],
        "INSTANCE_PATH": str(instance_path),
        "JOBS_IMMEDIATE": True,
        **overrides,
    }


@pytest.fixture
def app(database_url: str, tmp_path) -> Iterator[Flask]:
    """An application on a migrated database."""
    application = create_app(
        app_settings(tmp_path / "instance", DATABASE_URL=database_url)
    )
    upgrade(services_of(application).engine)
    yield application
    close_app(application)


def close_app(application: Flask) -> None:
    """Stop background writers before the database goes away."""
    services_of(application).recorder.stop()
    services_of(application).engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def scoring_client(app: Flask) -> IssuedClient:
    """A registered client with default weights."""
    return create_client(services_of(app).sessions, "sales@yourcompany.com")
