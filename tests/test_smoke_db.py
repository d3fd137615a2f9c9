"""The database the suite runs on is the one CI asked for, and the schema is migrated."""

import os

from sqlalchemy import inspect

from tamis.store.db import get_engine


def test_database_backend_matches_environment(database: str) -> None:
    dialect = get_engine().dialect.name
    assert dialect == ("postgresql" if os.environ.get("TAMIS_DATABASE_URL") else "sqlite")
    tables = set(inspect(get_engine()).get_table_names())
    assert {"projects", "api_keys", "policy_versions", "decisions", "decision_items", "webhooks", "webhook_deliveries"} <= tables


def test_migrations_build_exactly_the_models_schema() -> None:
    """Alembic's migrations and the SQLAlchemy models describe the same tables, on this backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from tamis.store.db import get_engine
    from tamis.store.models import Base

    with get_engine().connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
