"""The embedded install keeps its files to its owner: the instance directory is
0700, and the SQLite database, Huey's jobs.db, their WAL and shared-memory files
and the generated secrets are 0600 — under the usual umask 022 too, and a database
left world-readable by an older version is tightened at start."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import create_app
from app.container import services_of
from app.migrations import upgrade
from app.services.learning.clients import create_client
from tests.conftest import close_app


@pytest.fixture
def usual_umask(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "TOKEN_ENCRYPTION_KEYS"):
        monkeypatch.delenv(name, raising=False)
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _use_every_file(instance: Path, email: str) -> dict[str, int]:
    """Start the embedded app and write to both databases; returns the modes of
    the instance's files, taken while their WAL and SHM files exist."""
    app = create_app({"INSTANCE_PATH": str(instance)})
    services = services_of(app)
    upgrade(services.engine)
    create_client(services.sessions, email)
    assert services.tasks.enqueue("refit_client", client_id="cl_0123456789abcdef")
    with services.sessions() as session:
        session.connection()
        modes = {path.name: _mode(path) for path in instance.iterdir()}
    close_app(app)
    return modes


def test_the_instance_directory_and_its_files_are_owner_only(
    usual_umask: None, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    names = _use_every_file(instance, "owner@example.com")
    assert _mode(instance) == 0o700
    for name in (
        "conturs.db",
        "conturs.db-wal",
        "conturs.db-shm",
        "jobs.db",
        "jobs.db-wal",
        "jobs.db-shm",
        "secret_key",
        "token_encryption_key",
    ):
        assert name in names, f"{name} was not created: {sorted(names)}"
        assert names[name] == 0o600, f"{name} is {oct(names[name])}"


def test_a_world_readable_database_is_tightened_at_start(
    usual_umask: None, tmp_path: Path
) -> None:
    instance = tmp_path / "instance"
    _use_every_file(instance, "first@example.com")
    database = instance / "conturs.db"
    database.chmod(0o644)
    modes = _use_every_file(instance, "second@example.com")
    assert modes["conturs.db"] == 0o600 and _mode(database) == 0o600
