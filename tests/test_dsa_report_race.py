"""Two first reports of one item arriving together open one case, not two: both threads read "no
case yet" (a barrier holds them there), then both try to open one; the database's partial unique
index (ux_cases_open_report) refuses the second, which joins the first's case. On this run's backend
(SQLite or PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from dsa_helpers import item, notice
from review_helpers import add_reviewer
from tamis.services import cases, reports, reviewers
from tamis.store.db import transaction
from tamis.store.models import Case, Report


def _file_together(project: str, monkeypatch: pytest.MonkeyPatch, n: int = 2) -> list[BaseException | str]:
    """n threads file a report of post-1 at once; each answers its report's case id, or its error."""
    barrier = threading.Barrier(n, timeout=20)
    seen: set[int] = set()
    real = reports.open_case_of

    def in_step(*args: Any, **kwargs: Any) -> Case | None:
        found = real(*args, **kwargs)
        if threading.get_ident() not in seen:  # the first look only: every thread has looked before any opens
            seen.add(threading.get_ident())
            barrier.wait()
        return found

    monkeypatch.setattr(reports, "open_case_of", in_step)
    results: list[BaseException | str] = [""] * n

    def report(i: int) -> None:
        try:
            with transaction() as session:
                results[i] = reports.file_report(session, project, notice("post-1", reporter_ref=f"user-{i}")).case_id
        except BaseException as error:  # noqa: BLE001  (reported by the assertions)
            results[i] = error

    threads = [threading.Thread(target=report, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_simultaneous_first_reports_make_one_case_counting_both(project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    item(project, "post-1", "pass", "harassment", 0.3)
    with transaction() as session:
        cases.queues(session, project)  # the project's default queue exists, as it does once any case was opened
    results = _file_together(project, monkeypatch)
    assert all(isinstance(r, str) and r.startswith("case_") for r in results), [getattr(r, "statement", r) for r in results]
    with transaction() as session:
        opened = session.scalars(select(Case).where(Case.project_id == project, Case.data_id == "post-1")).all()
        filed = session.scalars(select(Report).where(Report.project_id == project)).all()
    assert len(opened) == 1, [(c.id, c.report_count) for c in opened]
    assert opened[0].report_count == 2 and opened[0].source == "user_report"
    assert {r.case_id for r in filed} == {opened[0].id} and len(filed) == 2


def test_a_decided_case_lets_the_next_report_open_a_new_one(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """The index covers waiting cases only: once decided, a new report opens a new case."""
    item(project, "post-1", "pass", "harassment", 0.3)
    with transaction() as session:
        first = reports.file_report(session, project, notice("post-1", reporter_ref="a")).case_id
    assert client.post(f"/v1/cases/{first}/decision", headers=auth, json={"action": "uphold"}).status_code == 201
    with transaction() as session:
        second = reports.file_report(session, project, notice("post-1", reporter_ref="b")).case_id
    assert second != first


def test_undoing_a_bulk_decision_takes_in_the_report_case_opened_meanwhile(project: str) -> None:
    """A bulk decision closes a report case; a new report of the item opens another within the undo
    window; the undo makes the first case wait again with both cases' reports, not two waiting cases."""
    item(project, "post-1", "pass", "harassment", 0.3)
    moderator = add_reviewer(project, "moderator")
    with transaction() as session:
        first = reports.file_report(session, project, notice("post-1", reporter_ref="a"))
        batch, _ = cases.bulk_decide(session, project, [first.case_id], reviewers.by_name(session, moderator),  # type: ignore[arg-type]
                                     action="uphold", category=None, reason="", note="")
    with transaction() as session:
        second = reports.file_report(session, project, notice("post-1", reporter_ref="b"))
    assert second.case_id != first.case_id
    with transaction() as session:
        assert cases.undo_batch(session, project, batch, reviewers.by_name(session, moderator).id) == 1  # type: ignore[union-attr]
    with transaction() as session:
        waiting = session.scalars(select(Case).where(Case.project_id == project, Case.status != "decided")).all()
        filed = session.scalars(select(Report).where(Report.project_id == project)).all()
    assert [(c.id, c.report_count) for c in waiting] == [(first.case_id, 2)]
    assert {r.case_id for r in filed} == {first.case_id} and {r.status for r in filed} == {"open"}
