"""Migration 0007 (DSA notices and appeals) upgrades a database holding review cases, downgrades
back to 0006 without losing them, and upgrades again: on this run's backend (SQLite or PostgreSQL)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from importlib import resources

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, inspect, text

from tamis.store import db

DSA_TABLES = {"reports", "appeals", "dsa_settings"}


@pytest.fixture
def empty_engine() -> Iterator[Engine]:
    """A database of its own, empty (not the suite's, which is already at head)."""
    given = os.environ.get("TAMIS_DATABASE_URL")
    if given:
        base = given.rsplit("/", 1)[0]
        admin = create_engine(db.driver_url(base + "/postgres"), isolation_level="AUTOCOMMIT")
        name = f"tamis_mig_{os.getpid()}_{os.urandom(3).hex()}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        engine = db.make_engine(f"{base}/{name}")
        yield engine
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        with tempfile.TemporaryDirectory() as folder:
            engine = db.make_engine(f"sqlite:///{folder}/mig.db")
            yield engine
            engine.dispose()


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(resources.files("tamis.store").joinpath("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def _seed_case(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO projects (id, created_at) VALUES ('p', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO decisions (id, project_id, policy_id, policy_version, shadow, source, doc, created_at) "
            "VALUES ('dec_1', 'p', 'default', 0, false, 'api', '{}', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO review_queues (id, project_id, name, rules, position, is_default, created_at) "
            "VALUES ('que_1', 'p', 'default', '{}', 0, true, CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO cases (id, project_id, decision_id, position, data_id, queue_id, status, verdict, score, source, "
            "priority, escalated, created_at) VALUES ('case_1', 'p', 'dec_1', 0, 'post-1', 'que_1', 'open', 'review', 0.5, "
            "'api', 100, false, CURRENT_TIMESTAMP)"))


def test_0007_upgrades_a_database_with_cases_downgrades_and_upgrades_again(empty_engine: Engine) -> None:
    _to(empty_engine, "0006")
    _seed_case(empty_engine)
    _to(empty_engine, "0007")
    tables = set(inspect(empty_engine).get_table_names())
    assert DSA_TABLES <= tables
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT report_count FROM cases WHERE id = 'case_1'")).scalar_one() == 0
    _to(empty_engine, "0006", down=True)
    inspector = inspect(empty_engine)
    assert not DSA_TABLES & set(inspector.get_table_names())
    assert "report_count" not in {c["name"] for c in inspector.get_columns("cases")}
    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT data_id FROM cases WHERE id = 'case_1'")).scalar_one() == "post-1"
    _to(empty_engine, "head")
    assert DSA_TABLES <= set(inspect(empty_engine).get_table_names())
