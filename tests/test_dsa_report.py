"""The transparency report over a seeded period: every figure checked against a hand count, the
Wilson intervals against published values, the CSV and HTML outputs and the CLI."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsa_helpers import BLOCK_WORD, REVIEW_WORD, list_policy
from tamis.cli import app
from tamis.services.dsa import transparency
from tamis.store.db import transaction
from tamis.web import transparency as render


def period() -> tuple[datetime, datetime]:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=1), today + timedelta(days=2)


def seed(client, auth, project: str) -> None:  # type: ignore[no-untyped-def]
    """6 automated blocks (harassment), 4 reviews (hate), 10 passes; with sampling at 1 every item is a case.
    People: blocks 5 upheld, 1 overturned; reviews 3 upheld, 1 overturned; passes 8 upheld, 2 restricted as hate."""
    list_policy(project)
    items = ([{"data_id": f"b{i}", "text": f"x {BLOCK_WORD}"} for i in range(6)]
             + [{"data_id": f"r{i}", "text": f"x {REVIEW_WORD}"} for i in range(4)]
             + [{"data_id": f"p{i}", "text": "a garden"} for i in range(10)])
    sent = client.post("/v1/moderate", headers=auth, json={"items": items})
    assert [r["verdict"] for r in sent.json()["results"]] == ["block"] * 6 + ["review"] * 4 + ["pass"] * 10
    cases = {c["data_id"]: c["id"] for c in client.get("/v1/cases", headers=auth, params={"limit": 100}).json()["cases"]}
    assert len(cases) == 20
    plan = ({f"b{i}": "uphold" for i in range(5)} | {"b5": "overturn"} | {f"r{i}": "uphold" for i in range(3)} | {"r3": "overturn"}
            | {f"p{i}": "uphold" for i in range(8)} | {"p8": "overturn", "p9": "overturn"})
    for data_id, action in plan.items():
        body = {"action": action, **({"category": "hate"} if data_id.startswith(("p", "r")) else {})}
        assert client.post(f"/v1/cases/{cases[data_id]}/decision", headers=auth, json=body).status_code == 201


def test_every_figure_matches_the_hand_count(client, auth, project: str, sample_everything) -> None:  # type: ignore[no-untyped-def]
    seed(client, auth, project)
    start, end = period()
    with transaction() as session:
        f = transparency.figures(session, project, start, end)
    # Restrictions: 6 automated blocks, 3 reviews upheld, 2 passes restricted; 1 block lifted.
    assert f.actions == 11 and f.restorations == 1
    assert f.share_automated == pytest.approx(6 / 11)
    assert dict(f.actions_by_ground) == {"DECISION_GROUND_INCOMPATIBLE_CONTENT": 11}
    assert dict(f.actions_by_type) == {"DECISION_VISIBILITY_CONTENT_REMOVED": 11}
    assert dict(f.actions_by_category) == {"STATEMENT_CATEGORY_CYBER_VIOLENCE": 6, "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH": 5}
    # The 2 sampled passes people restricted were not detected by automated means: not automated at all.
    assert dict(f.actions_by_automation) == {"AUTOMATED_DECISION_FULLY": 6, "AUTOMATED_DECISION_PARTIALLY": 3,
                                             "AUTOMATED_DECISION_NOT_AUTOMATED": 2}
    assert dict(f.actions_by_source) == {"SOURCE_VOLUNTARY": 11}
    assert (f.decisions, f.passes, f.pass_samples_reviewed) == (20, 10, 10)
    accuracy = {a.category: a for a in f.accuracy}
    assert set(accuracy) == {"harassment", "hate"}
    harassment, hate = accuracy["harassment"], accuracy["hate"]
    assert (harassment.flagged, harassment.reviewed, harassment.upheld, harassment.missed) == (6, 6, 5, 0)
    assert harassment.precision.value == pytest.approx(5 / 6) and harassment.precision.n == 6
    assert harassment.recall.value == pytest.approx(1.0)  # 5 true flags, no miss in the sample
    assert (hate.flagged, hate.reviewed, hate.upheld, hate.missed) == (4, 4, 3, 2)
    assert hate.precision.value == pytest.approx(3 / 4) and hate.miss_rate.value == pytest.approx(2 / 10)
    assert hate.recall.value == pytest.approx(3 / (3 + 10 * 0.2))  # 4 flags x 0.75 over those + 10 passes x 0.2
    assert hate.recall.low is not None and hate.recall.high is not None and hate.recall.low < 0.6 < hate.recall.high
    assert all(a.precision.too_small and a.miss_rate.too_small for a in f.accuracy)  # n < 30
    # Outside the period: nothing.
    with transaction() as session:
        empty = transparency.figures(session, project, start - timedelta(days=30), start)
    assert (empty.actions, empty.decisions, empty.accuracy) == (0, 0, [])


def test_wilson_intervals_match_published_values() -> None:
    low, high = transparency.wilson(5, 6)  # type: ignore[misc]
    assert (round(low, 4), round(high, 4)) == (0.4365, 0.9699)
    low, high = transparency.wilson(0, 10)  # type: ignore[misc]
    assert low == 0.0 and round(high, 4) == 0.2775
    low, high = transparency.wilson(81, 263)  # Wilson's example in Newcombe (1998): 0.2553 to 0.3662
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert transparency.wilson(0, 0) is None


def rows_of(text: str) -> dict[tuple[str, str, str], list[str]]:
    reader = csv.reader(io.StringIO(text))
    assert next(reader) == render.COLUMNS
    return {(r[0], r[1], r[2]): r[3:] for r in reader}


def test_csv_and_html_from_the_cli(client, auth, project: str, sample_everything, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(client, auth, project)
    start, end = period()
    runner = CliRunner()
    out_csv, out_html = tmp_path / "report.csv", tmp_path / "report.html"
    for fmt, out in (("csv", out_csv), ("html", out_html)):
        done = runner.invoke(app, ["dsa", "report", "--from", start.date().isoformat(), "--to", end.date().isoformat(),
                                   "--project", project, "--format", fmt, "--out", str(out)])
        assert done.exit_code == 0, done.output
    table = rows_of(out_csv.read_text())
    own = render.S_OWN
    assert table[(own, "Number of restrictions (statements of reasons)", "total")][0] == "11"
    assert table[(own, "Restrictions lifted after human review", "")][0] == "1"
    assert table[(render.S_AUTOMATED, "Share of restrictions decided by fully automated means", "")][0] == f"{6 / 11:.4f}"
    precision = table[(render.S_AUTOMATED, "Precision: share of reviewed automated flags upheld by people", "hate")]
    assert precision[0] == "0.7500" and precision[1] == "4" and "sample too small" in precision[4]
    assert float(precision[2]) < 0.75 < float(precision[3])
    assert any(k[0].startswith("Orders of Member States") and "not covered" in v[4] for k, v in table.items())
    page = out_html.read_text()
    assert "<svg" in page and "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert "sample too small" in page and project in page
    # Bad periods are refused with a message, not a traceback.
    bad = runner.invoke(app, ["dsa", "report", "--from", "2026-12-02", "--to", "2026-12-01", "--project", project])
    assert bad.exit_code == 2 and "before" in bad.output
    bad = runner.invoke(app, ["dsa", "report", "--from", "soon", "--to", "2026-12-01", "--project", project])
    assert bad.exit_code == 2


def test_cli_statements_batches(client, auth, project: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    list_policy(project)
    for _ in range(3):
        assert client.post("/v1/moderate", headers=auth, json={"items": [{"data_id": f"i{i}", "text": BLOCK_WORD} for i in range(90)]}).status_code == 200
    start, _ = period()
    done = CliRunner().invoke(app, ["dsa", "statements", "--since", start.date().isoformat(), "--project", project, "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    import json

    files = sorted(tmp_path.glob("batch-*.json"))
    sizes = [len(json.loads(f.read_text())["statements"]) for f in files]
    assert sizes == [100, 100, 70]
    puids = [s["puid"] for f in files for s in json.loads(f.read_text())["statements"]]
    assert len(set(puids)) == 270
    off = CliRunner().invoke(app, ["dsa", "statements", "--since", start.date().isoformat(), "--project", project, "--submit"])
    assert off.exit_code == 2 and "submission is off" in off.output


def test_notice_and_appeal_figures_match_the_hand_count(client, auth, project: str, sample_everything) -> None:  # type: ignore[no-untyped-def]
    """Notices and appeals with known times (rows as the notice and appeal services write them)."""
    from sqlalchemy import select

    from tamis.store.models import Appeal, Case, Report

    seed(client, auth, project)
    start, _ = period()
    REPORTER = f"reporterMARK{project}"
    t0 = start + timedelta(hours=2)
    with transaction() as session:
        case = session.scalars(select(Case).where(Case.project_id == project)).first()
        assert case is not None

        def notice(category: str, source: str, trusted: bool, received: datetime, hours: float | None) -> Report:
            return Report(project_id=project, case_id=case.id, data_id=case.data_id, category=category, explanation="x",
                          location="https://example.org/p", source=source, trusted_flagger=trusted, reporter_name=REPORTER, reporter_email=REPORTER + "@example.org",
                          status="decided" if hours is not None else "open", received_at=received,
                          decided_at=received + timedelta(hours=hours) if hours is not None else None)

        session.add_all([
            notice("hate", "api", True, t0, 1), notice("hate", "api", False, t0, 3), notice("illegal", "form", False, t0, 10),
            notice("spam", "api", True, t0, None), notice("spam", "api", False, t0, None),
            notice("hate", "api", True, start - timedelta(days=3), 1),  # before the period: not counted
        ])

        def appeal(received: datetime, hours: float | None, outcome: str | None) -> Appeal:
            return Appeal(project_id=project, case_id=case.id, data_id=case.data_id, contested_decision_id=case.decision_id,
                          contested_verdict="block", appellant="affected_user", reason="x", status="decided" if outcome else "open",
                          outcome=outcome, received_at=received, decided_at=received + timedelta(hours=hours) if hours else None)

        session.add_all([appeal(t0, 2, "reversed"), appeal(t0, 4, "reversed"), appeal(t0, 6, "upheld"), appeal(t0, None, None),
                         appeal(start - timedelta(days=5), 1, "upheld")])  # received and decided before the period
    with transaction() as session:
        f = transparency.figures(session, project, *period())
    assert dict(f.notices_by_category) == {"hate": 2, "illegal": 1, "spam": 2}
    assert dict(f.notices_by_source) == {"api": 4, "form": 1}
    assert (f.notices_trusted, f.notices_decided, f.notice_median_hours) == (2, 3, pytest.approx(3.0))
    assert (f.appeals_received, f.appeals_decided, f.appeals_reversed) == (4, 3, 2)
    assert f.appeal_median_hours == pytest.approx(4.0)
    table = rows_of(render.to_csv(f))
    assert table[(render.S_NOTICES, "Number of notices submitted by trusted flaggers", "")][0] == "2"
    assert table[(render.S_NOTICES, "Median time to take action (hours)", "")][0] == "3.00"
    assert table[(render.S_COMPLAINTS, "Number of decisions reversed", "")][0] == "2"
    assert REPORTER not in render.to_html(f) + render.to_csv(f)  # nor does a reporter's identity
