"""Time to load the next review case with many open cases (issue #14's target: p95 < 100 ms).

Builds a throw-away database (SQLite in a temporary directory, or a new database on the PostgreSQL
server of --database), fills one project with N open cases across a few queues, then, for R rounds,
does what the case page does for a reviewer who presses "next": claim the next case of a queue
(services.cases.claim_next) and read what the page shows (the automated result, the earlier
decisions on its data_id and author, the thumbnail, a video's frames, the ids of its sharp review
copies, the reviewer's wellness settings). Each round is its own transaction, as a request is.

Prints p50/p95/max in ms, and the ratio of p95 to an anchor measured in the same run: reading one
case by primary key in its own transaction (what any page costs at least on this machine).

    python bench/review.py [--cases 100000] [--rounds 300] [--database postgresql://user:pw@host/db]
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, insert, text


def _database(url: str | None) -> tuple[str, str | None]:
    if not url:
        return f"sqlite:///{tempfile.mkdtemp(prefix='tamis-bench-review-')}/tamis.db", None
    from tamis.store.db import driver_url

    name = f"tamis_bench_{secrets.token_hex(4)}"
    admin = create_engine(driver_url(url), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return driver_url(url).rpartition("/")[0] + "/" + name, name


def _fill(sessions, project: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    from tamis.services import cases
    from tamis.store import queries
    from tamis.store.models import Case, Decision, DecisionItem, new_id

    doc = {"id": "x", "project": project, "policy": {"id": "default", "version": 0, "shadow": False}, "created_at": "",
           "results": [{"data_id": "d", "verdict": "review", "categories": [{"name": "hate", "score": 0.6, "flagged": True,
                                                                            "analyzers": ["text-model@1"]}],
                        "evidence": [], "analyzers": [], "reasons": []}]}
    with sessions.begin() as session:
        queries.ensure_project(session, project)
        queue_ids = [q.id for q in cases.queues(session, project)]
        for name in ("minors", "threats", "spam"):
            queue_ids.append(cases.create_queue(session, project, name, {"categories": [name]}).id)
    categories = ["hate", "harassment", "spam", "sexual/minors", "violence", "scam"]
    start = datetime.now(UTC) - timedelta(days=3)
    batch = 5000
    for first in range(0, n, batch):
        decisions, items, rows = [], [], []
        for i in range(first, min(n, first + batch)):
            decision_id = new_id("dec")
            decisions.append({"id": decision_id, "project_id": project, "policy_id": "default", "policy_version": 0,
                              "shadow": False, "source": "api", "doc": {**doc, "id": decision_id}, "created_at": start})
            items.append({"decision_id": decision_id, "project_id": project, "position": 0, "data_id": f"item-{i % (n // 2 or 1)}",
                          "verdict": "review", "author_id": f"author-{i % 5000}"})
            category = categories[i % len(categories)]
            rows.append({"id": new_id("case"), "project_id": project, "decision_id": decision_id, "position": 0,
                         "data_id": f"item-{i % (n // 2 or 1)}", "author_id": f"author-{i % 5000}", "text": "some text",
                         "queue_id": queue_ids[i % len(queue_ids)], "status": "open", "verdict": "review", "category": category,
                         "score": (i % 100) / 100, "source": "api", "priority": cases.priority(category, (i % 100) / 100),
                         "escalated": False, "created_at": start + timedelta(seconds=i)})
        with sessions.begin() as session:
            session.execute(insert(Decision), decisions)
            session.execute(insert(DecisionItem), items)
            session.execute(insert(Case), rows)
    return queue_ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--database", help="a PostgreSQL server URL (a new database is made on it and dropped)")
    args = parser.parse_args()

    url, created = _database(args.database)
    os.environ["TAMIS_DATABASE_URL"] = url
    os.environ.setdefault("TAMIS_DATA_DIR", tempfile.mkdtemp(prefix="tamis-bench-review-data-"))
    from sqlalchemy.orm import sessionmaker

    from tamis.services import cases, reviewers, wellness
    from tamis.store import queries
    from tamis.store.db import make_engine, migrate
    from tamis.store.models import Case

    engine = make_engine(url)
    migrate(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    project = "bench"
    try:
        t0 = time.perf_counter()
        queue_ids = _fill(sessions, project, args.cases)
        print(f"filled {args.cases} open cases in {time.perf_counter() - t0:.1f} s ({engine.dialect.name})", file=sys.stderr)
        with sessions.begin() as session:
            people = [reviewers.add(session, f"r{i}", "a long enough password").id for i in range(args.rounds)]
            any_case = session.scalar(text("SELECT id FROM cases LIMIT 1"))
        anchor, times = [], []
        for i, reviewer_id in enumerate(people):
            t = time.perf_counter()
            with sessions.begin() as session:
                session.get(Case, any_case)
            anchor.append(time.perf_counter() - t)
            t = time.perf_counter()
            with sessions.begin() as session:
                case = cases.claim_next(session, project, queue_ids[i % len(queue_ids)], reviewer_id, "reviewer")
                assert case is not None
                cases.automated(session, case)
                cases.history(session, case)
                # What the case view reads besides: the thumbnail, a video's frames, which sharp review
                # copies it has (fetched only on reveal), the wellness settings.
                queries.get_thumbnail(session, project, case.decision_id, case.data_id)
                queries.get_frames(session, project, case.decision_id, case.data_id)
                queries.sharp_ids(session, project, case.decision_id, case.data_id)
                wellness.hidden_categories(session, project, reviewer_id)
            times.append(time.perf_counter() - t)
        ms = sorted(x * 1000 for x in times)
        p95 = ms[int(0.95 * (len(ms) - 1))]
        anchor_ms = statistics.median(anchor) * 1000
        print(f"backend={engine.dialect.name} cases={args.cases} rounds={args.rounds}")
        print(f"next case: p50={statistics.median(ms):.1f} ms p95={p95:.1f} ms max={ms[-1]:.1f} ms (target p95 < 100 ms)")
        print(f"anchor (one case by primary key, own transaction): median={anchor_ms:.2f} ms; p95 / anchor = {p95 / anchor_ms:.1f}")
    finally:
        engine.dispose()
        if created and args.database:
            from tamis.store.db import driver_url

            admin = create_engine(driver_url(args.database), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{created}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
