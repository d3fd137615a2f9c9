"""The engine and sessions. SQLite runs in WAL mode; PostgreSQL is chosen by TAMIS_DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib import resources

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from tamis.config import get_settings

MIGRATION_LOCK = 0x74616D6973  # "tamis": the PostgreSQL advisory lock held while migrating


def driver_url(url: str) -> str:
    """Plain `postgresql://` URLs use psycopg 3, the driver we install."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # How long a write waits for another's lock before the request is answered 503 (api/problems.py).
    cursor.execute(f"PRAGMA busy_timeout={int(get_settings().sqlite_busy_timeout_s * 1000)}")
    cursor.close()


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def make_engine(url: str) -> Engine:
    url = driver_url(url)
    # hide_parameters: an error's message never carries the statement's values (texts, decisions),
    # so logs never contain content.
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": get_settings().sqlite_busy_timeout_s},
            json_serializer=_json,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, json_serializer=_json, hide_parameters=True
    )


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest Alembic revision (idempotent; run at every start)."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("tamis.store").joinpath("migrations")))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # API processes and workers started together on a new database would all create the
            # tables: one migrates, the others wait here (the lock ends with the transaction) and
            # then find the schema current.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@lru_cache
def get_engine() -> Engine:
    engine = make_engine(get_settings().resolved_database_url())
    migrate(engine)
    return engine


@lru_cache
def session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def transaction() -> Iterator[Session]:
    """A session whose work commits together or not at all."""
    with session_factory().begin() as session:
        yield session
