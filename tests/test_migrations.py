"""Migrations: one head, they build the schema the models describe, on every backend."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from app.migrations import alembic_config, upgrade
from app.models import Base


def test_single_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_models_match_migrations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True}
            )
            differences = compare_metadata(context, Base.metadata)
        assert differences == []
        upgrade(engine)  # idempotent: a second run changes nothing
    finally:
        engine.dispose()


def test_absent_pinned_weights_are_sql_null(database_url: str) -> None:
    from sqlalchemy import text

    from app.db import make_session_factory
    from app.services.learning.clients import create_client

    engine = create_engine(database_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as connection:  # a row as 0002-era code wrote it
            connection.execute(
                text(
                    "INSERT INTO clients (id, email, created_at, pinned_weights, "
                    "stated_profile) VALUES ('cl_old', 'old@x.co', CURRENT_TIMESTAMP, "
                    "'null', '{}')"
                )
            )
        upgrade(engine)
        create_client(make_session_factory(engine), "new@x.co")
        with engine.connect() as connection:
            nulls = connection.execute(
                text("SELECT count(*) FROM clients WHERE pinned_weights IS NULL")
            ).scalar()
        assert nulls == 2
    finally:
        engine.dispose()
