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
