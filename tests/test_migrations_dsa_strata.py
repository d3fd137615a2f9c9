"""Migration 0011 (a sample's stratum on its case; one waiting report case per item) merges the
duplicate cases concurrent first reports made before it, moving their reports to the oldest, then
refuses new duplicates; it downgrades and upgrades again: on this run's backend."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from test_migrations_dsa import _seed_case, _to, empty_engine  # noqa: F401  (the fixture)

CASE = ("INSERT INTO cases (id, project_id, decision_id, position, data_id, queue_id, status, verdict, score, source, "
        "priority, escalated, report_count, created_at) VALUES (:id, 'p', 'dec_1', 0, 'post-1', 'que_1', 'open', 'pass', "
        "0.2, 'user_report', 20, false, 1, :at)")
REPORT = ("INSERT INTO reports (id, project_id, case_id, data_id, category, explanation, location, source, trusted_flagger, "
          "good_faith, status, received_at) VALUES (:id, 'p', :case, 'post-1', 'harassment', 'x', 'https://e.org/1', 'api', "
          "false, true, 'open', CURRENT_TIMESTAMP)")


def _reports(engine: Engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(text("SELECT id, case_id FROM reports")).all())  # type: ignore[arg-type]


def test_0011_merges_duplicate_report_cases_and_refuses_new_ones(empty_engine: Engine) -> None:  # noqa: F811
    _to(empty_engine, "0009")
    _seed_case(empty_engine)  # an automated case of post-1: not a report case, left alone
    with empty_engine.begin() as connection:
        for i, at in ((2, "2026-01-01 00:00:00"), (3, "2026-01-01 00:00:01")):
            connection.execute(text(CASE), {"id": f"case_{i}", "at": at})
            connection.execute(text(REPORT), {"id": f"rep_{i}", "case": f"case_{i}"})
    _to(empty_engine, "0011")
    assert {"stratum", "inclusion_p"} <= {c["name"] for c in inspect(empty_engine).get_columns("cases")}
    assert _reports(empty_engine) == {"rep_2": "case_2", "rep_3": "case_2"}
    with empty_engine.connect() as connection:
        kept = connection.execute(text("SELECT id, report_count FROM cases WHERE source = 'user_report'")).all()
    assert [tuple(r) for r in kept] == [("case_2", 2)]
    with pytest.raises(IntegrityError), empty_engine.begin() as connection:
        connection.execute(text(CASE), {"id": "case_4", "at": "2026-01-02 00:00:00"})
    with empty_engine.begin() as connection:  # a decided report case does not count
        connection.execute(text("UPDATE cases SET status = 'decided' WHERE id = 'case_2'"))
        connection.execute(text(CASE), {"id": "case_4", "at": "2026-01-02 00:00:00"})
    _to(empty_engine, "0009", down=True)
    assert "stratum" not in {c["name"] for c in inspect(empty_engine).get_columns("cases")}
    _to(empty_engine, "head")
    assert _reports(empty_engine) == {"rep_2": "case_2", "rep_3": "case_2"}
