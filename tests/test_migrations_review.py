"""Migration 0009 (the review workspace's media sizes, wellness settings and sign-in throttles)
upgrades a database holding thumbnails, downgrades without losing them, and upgrades again: on this
run's backend (SQLite or PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import Engine, inspect, text

from test_migrations_dsa import _to, empty_engine  # noqa: F401  (the fixture)

NEW_TABLES = {"review_preferences", "sign_in_throttles"}


def _thumbnails(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [tuple(r) for r in connection.execute(text("SELECT data_id, width FROM item_media ORDER BY id"))]  # type: ignore[misc]


def test_0009_upgrades_with_thumbnails_downgrades_and_upgrades_again(empty_engine: Engine) -> None:  # noqa: F811
    _to(empty_engine, "0008")
    with empty_engine.begin() as connection:
        connection.execute(text("INSERT INTO projects (id, created_at) VALUES ('p', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO decisions (id, project_id, policy_id, policy_version, shadow, source, doc, created_at) "
            "VALUES ('dec_1', 'p', 'default', 0, false, 'api', '{}', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO item_media (project_id, decision_id, data_id, kind, content_type, width, height, data, created_at) "
            "VALUES ('p', 'dec_1', 'img-1', 'thumbnail', 'image/jpeg', 200, 100, :data, CURRENT_TIMESTAMP)"), {"data": b"\xff\xd8"})
    _to(empty_engine, "0009")
    columns = {c["name"] for c in inspect(empty_engine).get_columns("item_media")}
    assert {"source_width", "source_height"} <= columns and NEW_TABLES <= set(inspect(empty_engine).get_table_names())
    assert _thumbnails(empty_engine) == [("img-1", 200)]  # an old thumbnail: no source size, no boxes drawn
    _to(empty_engine, "0008", down=True)
    assert not NEW_TABLES & set(inspect(empty_engine).get_table_names())
    assert "source_width" not in {c["name"] for c in inspect(empty_engine).get_columns("item_media")}
    assert _thumbnails(empty_engine) == [("img-1", 200)]
    _to(empty_engine, "head")
    assert NEW_TABLES <= set(inspect(empty_engine).get_table_names())
